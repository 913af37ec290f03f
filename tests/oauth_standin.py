"""A STAND-IN for the wiki's OAuth 2.0 provider, for tests only.

Commons' login is MediaWiki's OAuth extension, which cannot run here (Debian's MediaWiki
ships without it), so this tiny Flask app plays its part on a loopback port with the
same three endpoints under .../oauth2 that the review tool's Authlib client calls:
`authorize` (a consent form where the "user" types a name and allows), `access_token`
(the authorization-code grant, client id and secret checked) and `resource/profile`
(the user name for a bearer token). It is a fake, named as such; everything around it
(the tool, its store, the browser) is real.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, render_template_string, request
from werkzeug.serving import make_server

from tests.wiki_fixtures import free_port

CLIENT_ID = "stand-in-client"
CLIENT_SECRET = "stand-in-secret"

CONSENT = """<!doctype html><title>Stand-in wiki: allow the review tool?</title>
<form method="post">
  <input type="hidden" name="redirect_uri" value="{{ redirect_uri }}">
  <input type="hidden" name="state" value="{{ state }}">
  <label>Wiki user name <input name="username" id="username"></label>
  <button type="submit" id="allow">Allow</button>
</form>"""


@dataclass
class StandInProvider:
    """The running stand-in: its base URL (what [review] oauth_url names) and what it issued."""

    port: int = field(default_factory=free_port)
    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/w/rest.php/oauth2"

    def app(self) -> Flask:
        app = Flask("oauth_standin")

        @app.route("/w/rest.php/oauth2/authorize", methods=["GET", "POST"])
        def authorize():
            args = request.values
            if args.get("client_id", CLIENT_ID) != CLIENT_ID:
                abort(400)
            if request.method == "GET":
                if args.get("response_type") != "code":
                    abort(400)
                return render_template_string(
                    CONSENT, redirect_uri=args["redirect_uri"], state=args.get("state", "")
                )
            code = secrets.token_urlsafe(16)
            self.codes[code] = args["username"]
            query = urlencode({"code": code, "state": args["state"]})
            return redirect(f"{args['redirect_uri']}?{query}")

        @app.post("/w/rest.php/oauth2/access_token")
        def access_token():
            form = request.form
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                return jsonify(error="invalid_client"), 401
            user = self.codes.pop(form.get("code", ""), None)
            if form.get("grant_type") != "authorization_code" or user is None:
                return jsonify(error="invalid_grant"), 400
            token = secrets.token_urlsafe(16)
            self.tokens[token] = user
            return jsonify(access_token=token, token_type="Bearer", expires_in=3600)

        @app.get("/w/rest.php/oauth2/resource/profile")
        def profile():
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.tokens:
                return jsonify(error="invalid_token"), 401
            return jsonify(sub=str(abs(hash(self.tokens[token]))), username=self.tokens[token])

        return app

    def serve(self) -> threading.Thread:
        server = make_server("127.0.0.1", self.port, self.app(), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self._server = server
        return thread

    def stop(self) -> None:
        self._server.shutdown()

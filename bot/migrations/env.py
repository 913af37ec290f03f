"""Alembic's entry point: run the migrations on the connection that `bot.migrate` passes
in (there is no alembic.ini; the database comes from the bot's own configuration)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()

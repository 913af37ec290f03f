"""A SparkSession that is safe on a shared machine and correct on a cluster.

Locally (`local[N]`) nothing may listen beyond 127.0.0.1: the driver binds and
advertises the loopback address and the web UI is off, so a test or a laptop run
opens no port to the network. Python workers must run the same interpreter as the
driver (the project's virtual environment, where LiteRT and the classifier are);
PySpark's default would be whatever `python3` is first on the PATH. On a cluster the
interpreter comes from the packed environment instead (see backfill/README.md), so
`PYSPARK_PYTHON` is only set here when the caller has not set it.
"""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

ARROW_BATCH_ROWS = 256
"""Rows per Arrow batch handed to `mapInPandas`: image bytes are large (a 330 px
thumbnail is about 30 kB), so Spark's default of 10,000 rows would hold hundreds of
megabytes per worker at once for no gain in inference speed."""


def spark_session(master: str = "local[*]", app_name: str = "commons-topic-backfill",
                  shuffle_partitions: int | None = None) -> SparkSession:
    """Get or create the session; local masters are bound to 127.0.0.1 with no UI."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
    )
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    if master.startswith("local"):
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        builder = (
            builder.config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.enabled", "false")
        )
    return builder.getOrCreate()

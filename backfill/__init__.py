"""Work at Commons size, beyond what the bot does one upload at a time.

Two jobs live here, both optional installs (the `spark` extra) that the bot never
imports: the backfill of every existing file through the classifier on Apache Spark
(`backfill.run`), and the labelling of every category and file from the whole
category graph on one machine (`backfill.label_graph`). See backfill/README.md.
"""

"""The prediction log: every scoring request and every rejected request, append-only files.

Layout (decided in `records`, read by everything else through `reader.read_log`):

    <root>/date=YYYY-MM-DD/predictions-<replica>-<start>-p<pid>-<seq>.jsonl
    <root>/date=YYYY-MM-DD/rejections-<replica>-<start>-p<pid>-<seq>.jsonl
    <root>/date=YYYY-MM-DD/predictions-<replica>-<start>-p<pid>-<seq>.table.parquet
                                    a scored table of 1,000+ rows, written whole (`table_shard`)
    <root>/date=YYYY-MM-DD/predictions-YYYY-MM-DD.parquet   a past day compacted (`compaction`)
    <root>/.sync/ledger.json        what was pushed to the Hub (never pushed, never read as data)

Predictions and rejections live in separate files: they have disjoint columns, and a loader that
infers one schema per file set (`datasets.load_dataset("json")`, pyarrow) would otherwise see a file
of rejections only as a different table and refuse to concatenate. Every prediction row carries the
same keys (the 120 inputs included, null when absent) and the writer casts values to their schema
kind, so every prediction shard has one and the same inferred schema.

The partition is the UTC date of the row's own `ts`, so a time window maps exactly onto partitions.
One file per process, kind and day, sealed (closed for good) at every Hub push so a pushed shard
never changes; the name carries the replica id, the process' log start time
and the pid, so two replicas, two workers or a restarted process never write into the same file
and a new shard never overwrites an old one (nor one pulled from the Hub into the history folder).
"""

"""What a balanced run hands on: curated rows (``curated``), DataComp's ``uids.npy``
(``uids``) and the manifest (``manifest``)."""

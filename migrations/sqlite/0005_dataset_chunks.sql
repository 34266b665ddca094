-- 0005_dataset_chunks: uploads stored in chunks as they are parsed, so that no step holds a
-- data set's stored form whole. A chunk is a block of consecutive rows (see CSVDatasetStream);
-- its rows are written under the data set's id before the data set row exists (invisible until
-- then) and go with it. `chunked_bytes` counts them for the storage quota; `content` stays empty
-- for a chunked data set, and keeps the whole blob for data sets stored before.
CREATE TABLE dataset_chunks (
  dataset_id TEXT NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  content BLOB NOT NULL,
  PRIMARY KEY (dataset_id, seq)
) STRICT;
ALTER TABLE datasets ADD COLUMN chunked_bytes INTEGER NOT NULL DEFAULT 0 CHECK (chunked_bytes >= 0);
CREATE TRIGGER datasets_delete_chunks AFTER DELETE ON datasets BEGIN
  DELETE FROM dataset_chunks WHERE dataset_id = OLD.id;
END;

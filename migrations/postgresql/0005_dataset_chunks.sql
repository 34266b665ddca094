-- 0005_dataset_chunks (PostgreSQL): uploads stored in chunks as they are parsed, as in the SQLite
-- migration of the same number. Chunks are written under the data set's id before its row exists
-- (invisible until then) and are deleted with it.
CREATE TABLE dataset_chunks (
  dataset_id text NOT NULL,
  seq integer NOT NULL CHECK (seq >= 0),
  content bytea NOT NULL,
  PRIMARY KEY (dataset_id, seq)
);
ALTER TABLE datasets ADD COLUMN chunked_bytes bigint NOT NULL DEFAULT 0 CHECK (chunked_bytes >= 0);
CREATE FUNCTION datasets_delete_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM dataset_chunks WHERE dataset_id = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER datasets_delete_chunks AFTER DELETE ON datasets
  FOR EACH ROW EXECUTE FUNCTION datasets_delete_chunks();

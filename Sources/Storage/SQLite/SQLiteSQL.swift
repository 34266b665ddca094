/// Every statement the SQLite engine runs, per table, as named constants: the one place to read
/// its SQL (`SQLStatements` lists what each table must supply).
///
/// Parameters are named (`:now`); times are integer milliseconds passed in by the caller.
enum SQLiteSQL: SQLStatements {
    /// Pragmas of every connection. `journal_mode` persists in the file; the rest do not.
    enum Connection {
        static let journalModeWAL = "PRAGMA journal_mode = WAL"
        static let setUp = """
            PRAGMA synchronous = NORMAL;
            PRAGMA foreign_keys = ON;
            PRAGMA temp_store = MEMORY;
            PRAGMA journal_size_limit = 67108864;
            """
        static let queryOnly = "PRAGMA query_only = ON"
        static let quickCheck = "PRAGMA quick_check"
        static let checkpointTruncate = "PRAGMA wal_checkpoint(TRUNCATE)"
        static let optimize = "PRAGMA optimize"
    }

    enum Jobs: SQLJobStatements {
        /// The columns `JobRecord(row:)` reads.
        static let columns = """
            id, name, status, spec_json, dataset_id, priority, created_ms, started_ms, finished_ms, \
            progress_done, progress_total, progress_fraction, latest_json, best_json, error_code, \
            error_message, attempt, max_attempts, run_after_ms, lease_owner, lease_expires_ms, \
            cancel_requested, version, owner, warnings_json
            """
        static let insert = """
            INSERT INTO jobs (id, name, status, spec_json, dataset_id, priority, created_ms,
                              progress_total, max_attempts, owner, warnings_json)
            VALUES (:id, :name, 'queued', :spec_json, :dataset_id, :priority, :now,
                    :progress_total, :max_attempts, :owner, :warnings_json)
            RETURNING \(columns)
            """
        static let byID = "SELECT \(columns) FROM jobs WHERE id = :id"
        // Every write runs in `BEGIN IMMEDIATE`, which already holds the database's write lock:
        // no other writer can change the row meanwhile, so the locking reads are plain reads.
        static let byIDForUpdate = byID
        static let statusForUpdate = "SELECT status FROM jobs WHERE id = :id"
        static let lockSubmissions: String? = nil
        static let countQueued = "SELECT count(*) AS count FROM jobs WHERE status = 'queued'"
        static let countActiveOfOwner =
            "SELECT count(*) AS count FROM jobs WHERE owner = :owner AND status IN ('queued', 'running')"
        static let countByStatus = "SELECT status, count(*) AS count FROM jobs GROUP BY status"

        // Newest first; the keyset (created_ms, id) continues after the last row of a page.
        static let listFirst =
            "SELECT \(columns) FROM jobs WHERE (:owner IS NULL OR owner = :owner) ORDER BY created_ms DESC, id DESC LIMIT :limit"
        static let listAfter = """
            SELECT \(columns) FROM jobs WHERE (:owner IS NULL OR owner = :owner) AND (created_ms, id) < (:created_ms, :id)
            ORDER BY created_ms DESC, id DESC LIMIT :limit
            """
        static let listStatusFirst = """
            SELECT \(columns) FROM jobs WHERE status = :status AND (:owner IS NULL OR owner = :owner)
            ORDER BY created_ms DESC, id DESC LIMIT :limit
            """
        static let listStatusAfter = """
            SELECT \(columns) FROM jobs WHERE status = :status AND (:owner IS NULL OR owner = :owner) AND (created_ms, id) < (:created_ms, :id)
            ORDER BY created_ms DESC, id DESC LIMIT :limit
            """

        /// The claim: one guarded UPDATE picking the best queued job whose back-off has passed.
        static let claim = """
            UPDATE jobs
               SET status = 'running', attempt = attempt + 1,
                   lease_owner = :worker, lease_expires_ms = :now + :lease_ms,
                   started_ms = coalesce(started_ms, :now), claim_progress_done = progress_done,
                   version = version + 1
             WHERE id = (SELECT id FROM jobs
                          WHERE status = 'queued' AND run_after_ms <= :now
                          ORDER BY priority DESC, created_ms, id LIMIT 1)
               AND status = 'queued'
            RETURNING \(columns)
            """
        static let heartbeat = """
            UPDATE jobs
               SET lease_expires_ms = :now + :lease_ms,
                   progress_fraction = max(progress_fraction, coalesce(:progress_fraction, 0.0)),
                   version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            RETURNING cancel_requested
            """
        static let commitProgress = """
            UPDATE jobs
               SET progress_done = :progress_done,
                   progress_fraction = max(progress_fraction, :progress_fraction),
                   latest_json = :latest_json, best_json = :best_json,
                   lease_expires_ms = max(lease_expires_ms, coalesce(:now + :lease_ms, lease_expires_ms)),
                   version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            """
        static let finish = """
            UPDATE jobs
               SET status = :status, finished_ms = :now, error_code = :error_code,
                   error_message = :error_message,
                   progress_fraction = CASE WHEN :status = 'succeeded' THEN 1.0 ELSE progress_fraction END,
                   lease_owner = NULL, lease_expires_ms = NULL, version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            RETURNING status
            """
        /// Shutdown hand-back: the attempt this claim consumed is given back.
        static let release = """
            UPDATE jobs
               SET status = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
                   finished_ms = CASE WHEN cancel_requested = 1 THEN :now END,
                   attempt = CASE WHEN cancel_requested = 1 THEN attempt ELSE max(attempt - 1, 0) END,
                   run_after_ms = :now,
                   lease_owner = NULL, lease_expires_ms = NULL, version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            RETURNING status
            """
        static let cancelQueued = """
            UPDATE jobs SET status = 'cancelled', finished_ms = :now, version = version + 1
             WHERE id = :id AND status = 'queued'
            RETURNING \(columns)
            """
        static let cancelRunning = """
            UPDATE jobs SET cancel_requested = 1, version = version + 1
             WHERE id = :id AND status = 'running'
            RETURNING \(columns)
            """
        static let delete = "DELETE FROM jobs WHERE id = :id"

        /// Queues a failed or cancelled job again with fresh attempts; history and checkpoint stay.
        static let retry = """
            UPDATE jobs
               SET status = 'queued', attempt = 0, run_after_ms = :now, finished_ms = NULL,
                   error_code = NULL, error_message = NULL, cancel_requested = 0, version = version + 1
             WHERE id = :id AND status IN ('failed', 'cancelled')
            RETURNING \(columns)
            """

        /// Recovery of a running job nobody works on: back to the queue (at once when the lost
        /// attempt committed progress, which also gives the attempt back; otherwise after capped
        /// exponential back-off), failed when out of attempts, or cancelled when asked to.
        private static func recovery(backOff: Bool, message: String, where condition: String) -> String {
            let progressed = "progress_done > claim_progress_done"
            let retries = "(attempt < max_attempts OR \(progressed))"
            let runAfter =
                backOff ? "CASE WHEN \(progressed) THEN :now ELSE :now + 1000 * (1 << min(attempt, 10)) END" : ":now"
            return """
                UPDATE jobs SET
                  status = CASE WHEN cancel_requested = 1 THEN 'cancelled'
                                WHEN \(retries) THEN 'queued' ELSE 'failed' END,
                  attempt = CASE WHEN cancel_requested = 0 AND \(progressed) THEN attempt - 1 ELSE attempt END,
                  run_after_ms = \(runAfter),
                  finished_ms = CASE WHEN cancel_requested = 0 AND \(retries) THEN NULL ELSE :now END,
                  error_code = CASE WHEN cancel_requested = 0 AND NOT \(retries) THEN 'worker_lost' END,
                  error_message = CASE WHEN cancel_requested = 0 AND NOT \(retries)
                                       THEN '\(message) ' || attempt || ' times' END,
                  lease_owner = NULL, lease_expires_ms = NULL, version = version + 1
                WHERE \(condition)
                RETURNING id, status, attempt
                """
        }

        /// The reaper (SERVICE-NOTES §3.4): leases that expired.
        static let reapExpired = recovery(
            backOff: true, message: "the worker stopped renewing its lease",
            where: "status = 'running' AND lease_expires_ms < :now")
        /// Start-up recovery: jobs leased by an earlier boot of this node, at once, no back-off.
        static let requeueOrphans = recovery(
            backOff: false, message: "the server stopped while running it",
            where: """
                status = 'running' AND substr(lease_owner, 1, length(:node_prefix)) = :node_prefix
                AND substr(lease_owner, 1, length(:boot_prefix)) <> :boot_prefix
                """)
        /// A worker that could not commit gives its job up at once.
        static let abandon = recovery(
            backOff: true, message: "the worker could not commit its progress",
            where: "id = :id AND lease_owner = :worker AND status = 'running'")
    }

    enum History: SQLHistoryStatements {
        static let columns = """
            meta_iteration, item_json, training_loss, validation_loss, validation_error, \
            hypergradient_norm, seconds, created_ms
            """
        /// Idempotent: a meta-iteration recomputed after a crash overwrites its identical row.
        static let upsert = """
            INSERT INTO job_history (job_id, \(columns))
            VALUES (:job_id, :meta_iteration, :item_json, :training_loss, :validation_loss,
                    :validation_error, :hypergradient_norm, :seconds, :created_ms)
            ON CONFLICT (job_id, meta_iteration) DO UPDATE SET
              item_json = excluded.item_json, training_loss = excluded.training_loss,
              validation_loss = excluded.validation_loss, validation_error = excluded.validation_error,
              hypergradient_norm = excluded.hypergradient_norm, seconds = excluded.seconds,
              created_ms = excluded.created_ms
            """
        static let page = """
            SELECT \(columns) FROM job_history WHERE job_id = :job_id AND meta_iteration > :after
            ORDER BY meta_iteration LIMIT :limit
            """
        /// The numbers and sizes of items without the items (SQLite reads a text to measure it, one
        /// row at a time, inside the library; nothing of it reaches the caller).
        static let outline = """
            SELECT meta_iteration, LENGTH(CAST(item_json AS BLOB)) AS item_bytes, training_loss,
                   validation_loss, validation_error, hypergradient_norm, seconds
            FROM job_history WHERE job_id = :job_id AND meta_iteration > :after
            ORDER BY meta_iteration LIMIT :limit
            """
    }

    enum Checkpoints: SQLCheckpointStatements {
        static let upsert = """
            INSERT INTO job_checkpoints (job_id, meta_iteration, state, updated_ms)
            VALUES (:job_id, :meta_iteration, :state, :now)
            ON CONFLICT (job_id) DO UPDATE SET
              meta_iteration = excluded.meta_iteration, state = excluded.state,
              updated_ms = excluded.updated_ms
            """
        static let byJob = "SELECT meta_iteration, state, updated_ms FROM job_checkpoints WHERE job_id = :job_id"
    }

    enum IdempotencyKeys: SQLIdempotencyKeyStatements {
        static let byKey = "SELECT request_sha256, job_id FROM idempotency_keys WHERE owner = :owner AND key = :key"
        static let insert = """
            INSERT INTO idempotency_keys (owner, key, request_sha256, job_id, created_ms)
            VALUES (:owner, :key, :request_sha256, :job_id, :now)
            """
        static let deleteOlderThan = "DELETE FROM idempotency_keys WHERE created_ms < :cutoff"
    }

    enum Events: SQLEventStatements {
        static let insert = """
            INSERT INTO job_events (job_id, seq, at_ms, kind, data_json)
            VALUES (:job_id, (SELECT coalesce(max(seq), 0) + 1 FROM job_events WHERE job_id = :job_id),
                    :now, :kind, :data_json)
            """
        static let page = """
            SELECT seq, at_ms, kind, data_json FROM job_events WHERE job_id = :job_id AND seq > :after
            ORDER BY seq LIMIT :limit
            """
    }

    enum Datasets: SQLDatasetStatements {
        static let columns =
            "id, name, rows, features, classes, sha256, builtin, created_ms, length(content) + chunked_bytes AS content_bytes, owner, profile, shape"
        static let insert = """
            INSERT INTO datasets (id, name, rows, features, classes, sha256, content, builtin, created_ms, owner, profile, shape)
            VALUES (:id, :name, :rows, :features, :classes, :sha256, :content, :builtin, :now, :owner, :profile, :shape)
            RETURNING \(columns)
            """
        static let byID = "SELECT \(columns) FROM datasets WHERE id = :id"
        static let bySHA256 =
            "SELECT \(columns) FROM datasets WHERE sha256 = :sha256 AND (owner = :owner OR builtin = 1)"
        static let all =
            "SELECT \(columns) FROM datasets WHERE builtin = 1 OR (:owner IS NULL OR owner = :owner) ORDER BY builtin DESC, created_ms, id"
        static let content = "SELECT content FROM datasets WHERE id = :id"
        static let exists = "SELECT 1 FROM datasets WHERE id = :id"
        static let isInUse = """
            SELECT 1 FROM jobs WHERE dataset_id = :id AND status IN ('queued', 'running') LIMIT 1
            """
        static let delete = "DELETE FROM datasets WHERE id = :id"
    }
}

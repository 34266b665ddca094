/// Every statement the PostgreSQL engine runs, per table, as named constants: the one place to
/// read its SQL (`SQLStatements` lists what each table must supply).
///
/// Parameters are named (`:now`) and translated to `$N` by `PostgresQuery`. Untyped parameters in
/// arithmetic or comparisons carry a cast, since PostgreSQL cannot infer `unknown + unknown`.
enum PostgresSQL: SQLStatements {
    /// "Now" in milliseconds: the caller's `:now` when the store runs on the caller's clock
    /// (tests), otherwise the database's clock, one instant per transaction.
    static let now = "coalesce(:now::bigint, rewind_now_ms())"

    enum Session {
        /// `on` for a standby or a read-only session: writes would fail.
        static let readOnly = PostgresQuery("SELECT current_setting('transaction_read_only') AS read_only")
    }

    enum Jobs: SQLJobStatements {
        /// Serialises inserts on every node so that the queue limit and idempotency keys hold
        /// across nodes (the key is arbitrary but fixed: "Rewi").
        static let lockSubmissions: PostgresQuery? = PostgresQuery("SELECT pg_advisory_xact_lock(1383495529)")
        static let columns = """
            id, name, status, spec_json, dataset_id, priority, created_ms, started_ms, finished_ms, \
            progress_done, progress_total, progress_fraction, latest_json, best_json, error_code, \
            error_message, attempt, max_attempts, run_after_ms, lease_owner, lease_expires_ms, \
            cancel_requested, version, owner, warnings_json
            """
        static let insert = PostgresQuery(
            """
            INSERT INTO jobs (id, name, status, spec_json, dataset_id, priority, created_ms,
                              progress_total, max_attempts, owner, warnings_json)
            VALUES (:id, :name, 'queued', :spec_json, :dataset_id, :priority, \(now),
                    :progress_total, :max_attempts, :owner, :warnings_json)
            RETURNING \(columns)
            """)
        static let byID = PostgresQuery("SELECT \(columns) FROM jobs WHERE id = :id")
        /// Locks the row: every later write of this transaction to the job (and its events) is
        /// ordered after any other transaction's.
        static let byIDForUpdate = PostgresQuery("SELECT \(columns) FROM jobs WHERE id = :id FOR UPDATE")
        static let statusForUpdate = PostgresQuery("SELECT status FROM jobs WHERE id = :id FOR UPDATE")
        static let countQueued = PostgresQuery("SELECT count(*) AS count FROM jobs WHERE status = 'queued'")
        static let countActiveOfOwner = PostgresQuery(
            "SELECT count(*) AS count FROM jobs WHERE owner = :owner AND status IN ('queued', 'running')")
        static let countByStatus = PostgresQuery("SELECT status, count(*) AS count FROM jobs GROUP BY status")

        static let listFirst = PostgresQuery(
            "SELECT \(columns) FROM jobs WHERE (:owner::text IS NULL OR owner = :owner::text) ORDER BY created_ms DESC, id DESC LIMIT :limit"
        )
        static let listAfter = PostgresQuery(
            """
            SELECT \(columns) FROM jobs WHERE (:owner::text IS NULL OR owner = :owner::text) AND (created_ms, id) < (:created_ms::bigint, :id::text)
            ORDER BY created_ms DESC, id DESC LIMIT :limit
            """)
        static let listStatusFirst = PostgresQuery(
            """
            SELECT \(columns) FROM jobs WHERE status = :status AND (:owner::text IS NULL OR owner = :owner::text)
            ORDER BY created_ms DESC, id DESC LIMIT :limit
            """)
        static let listStatusAfter = PostgresQuery(
            """
            SELECT \(columns) FROM jobs
             WHERE status = :status AND (:owner::text IS NULL OR owner = :owner::text) AND (created_ms, id) < (:created_ms::bigint, :id::text)
            ORDER BY created_ms DESC, id DESC LIMIT :limit
            """)

        /// The claim: the best queued job whose back-off has passed, skipping rows another node
        /// is claiming right now instead of waiting for it.
        static let claim = PostgresQuery(
            """
            UPDATE jobs
               SET status = 'running', attempt = attempt + 1,
                   lease_owner = :worker, lease_expires_ms = \(now) + :lease_ms::bigint,
                   started_ms = coalesce(started_ms, \(now)), claim_progress_done = progress_done,
                   version = version + 1
             WHERE id = (SELECT id FROM jobs
                          WHERE status = 'queued' AND run_after_ms <= \(now)
                          ORDER BY priority DESC, created_ms, id
                          LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING \(columns)
            """)
        static let heartbeat = PostgresQuery(
            """
            UPDATE jobs
               SET lease_expires_ms = \(now) + :lease_ms::bigint,
                   progress_fraction = greatest(progress_fraction, coalesce(:progress_fraction::double precision, 0.0)),
                   version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            RETURNING cancel_requested
            """)
        static let commitProgress = PostgresQuery(
            """
            UPDATE jobs
               SET progress_done = :progress_done,
                   progress_fraction = greatest(progress_fraction, :progress_fraction::double precision),
                   latest_json = :latest_json, best_json = :best_json,
                   lease_expires_ms = greatest(lease_expires_ms, \(now) + :lease_ms::bigint),
                   version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            """)
        static let finish = PostgresQuery(
            """
            UPDATE jobs
               SET status = :status, finished_ms = \(now), error_code = :error_code,
                   error_message = :error_message,
                   progress_fraction = CASE WHEN :status::text = 'succeeded' THEN 1.0 ELSE progress_fraction END,
                   lease_owner = NULL, lease_expires_ms = NULL, version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            RETURNING status
            """)
        static let release = PostgresQuery(
            """
            UPDATE jobs
               SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
                   finished_ms = CASE WHEN cancel_requested THEN \(now) END,
                   attempt = CASE WHEN cancel_requested THEN attempt ELSE greatest(attempt - 1, 0) END,
                   run_after_ms = \(now),
                   lease_owner = NULL, lease_expires_ms = NULL, version = version + 1
             WHERE id = :id AND lease_owner = :worker AND status = 'running'
            RETURNING status
            """)
        static let cancelQueued = PostgresQuery(
            """
            UPDATE jobs SET status = 'cancelled', finished_ms = \(now), version = version + 1
             WHERE id = :id AND status = 'queued'
            RETURNING \(columns)
            """)
        static let cancelRunning = PostgresQuery(
            """
            UPDATE jobs SET cancel_requested = true, version = version + 1
             WHERE id = :id AND status = 'running'
            RETURNING \(columns)
            """)
        static let delete = PostgresQuery("DELETE FROM jobs WHERE id = :id")

        /// Queues a failed or cancelled job again with fresh attempts; history and checkpoint stay.
        static let retry = PostgresQuery(
            """
            UPDATE jobs
               SET status = 'queued', attempt = 0, run_after_ms = \(now), finished_ms = NULL,
                   error_code = NULL, error_message = NULL, cancel_requested = false, version = version + 1
             WHERE id = :id AND status IN ('failed', 'cancelled')
            RETURNING \(columns)
            """)

        /// Recovery of a running job nobody works on: back to the queue (at once when the lost
        /// attempt committed progress, which also gives the attempt back; otherwise after capped
        /// exponential back-off), failed when out of attempts, or cancelled when asked to.
        private static func recovery(backOff: Bool, message: String, where condition: String) -> PostgresQuery {
            let progressed = "progress_done > claim_progress_done"
            let retries = "(attempt < max_attempts OR \(progressed))"
            let runAfter =
                backOff
                ? "CASE WHEN \(progressed) THEN \(now) ELSE \(now) + 1000 * (1::bigint << least(attempt, 10)) END"
                : now
            return PostgresQuery(
                """
                UPDATE jobs SET
                  status = CASE WHEN cancel_requested THEN 'cancelled'
                                WHEN \(retries) THEN 'queued' ELSE 'failed' END,
                  attempt = CASE WHEN NOT cancel_requested AND \(progressed) THEN attempt - 1 ELSE attempt END,
                  run_after_ms = \(runAfter),
                  finished_ms = CASE WHEN NOT cancel_requested AND \(retries) THEN NULL ELSE \(now) END,
                  error_code = CASE WHEN NOT cancel_requested AND NOT \(retries) THEN 'worker_lost' END,
                  error_message = CASE WHEN NOT cancel_requested AND NOT \(retries)
                                       THEN '\(message) ' || attempt || ' times' END,
                  lease_owner = NULL, lease_expires_ms = NULL, version = version + 1
                WHERE \(condition)
                RETURNING id, status, attempt
                """)
        }

        /// The reaper: leases that expired on the database's clock.
        static let reapExpired = recovery(
            backOff: true, message: "the worker stopped renewing its lease",
            where: "status = 'running' AND lease_expires_ms < \(now)")
        /// Start-up recovery: jobs leased by an earlier boot of this node, at once, no back-off.
        static let requeueOrphans = recovery(
            backOff: false, message: "the server stopped while running it",
            where: """
                status = 'running' AND starts_with(lease_owner, :node_prefix::text)
                AND NOT starts_with(lease_owner, :boot_prefix::text)
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
        static let upsert = PostgresQuery(
            """
            INSERT INTO job_history (job_id, \(columns))
            VALUES (:job_id, :meta_iteration, :item_json, :training_loss, :validation_loss,
                    :validation_error, :hypergradient_norm, :seconds, :created_ms)
            ON CONFLICT (job_id, meta_iteration) DO UPDATE SET
              item_json = excluded.item_json, training_loss = excluded.training_loss,
              validation_loss = excluded.validation_loss, validation_error = excluded.validation_error,
              hypergradient_norm = excluded.hypergradient_norm, seconds = excluded.seconds,
              created_ms = excluded.created_ms
            """)
        static let page = PostgresQuery(
            """
            SELECT \(columns) FROM job_history WHERE job_id = :job_id AND meta_iteration > :after
            ORDER BY meta_iteration LIMIT :limit
            """)
        /// The numbers and sizes of items without the items (OCTET_LENGTH reads a stored value's
        /// size from its header, without fetching or decompressing it).
        static let outline = PostgresQuery(
            """
            SELECT meta_iteration, OCTET_LENGTH(item_json) AS item_bytes, training_loss,
                   validation_loss, validation_error, hypergradient_norm, seconds
            FROM job_history WHERE job_id = :job_id AND meta_iteration > :after
            ORDER BY meta_iteration LIMIT :limit
            """)
    }

    enum Checkpoints: SQLCheckpointStatements {
        static let upsert = PostgresQuery(
            """
            INSERT INTO job_checkpoints (job_id, meta_iteration, state, updated_ms)
            VALUES (:job_id, :meta_iteration, :state, \(now))
            ON CONFLICT (job_id) DO UPDATE SET
              meta_iteration = excluded.meta_iteration, state = excluded.state,
              updated_ms = excluded.updated_ms
            """)
        static let byJob = PostgresQuery(
            "SELECT meta_iteration, state, updated_ms FROM job_checkpoints WHERE job_id = :job_id")
    }

    enum IdempotencyKeys: SQLIdempotencyKeyStatements {
        static let byKey = PostgresQuery(
            "SELECT request_sha256, job_id FROM idempotency_keys WHERE owner = :owner AND key = :key")
        static let insert = PostgresQuery(
            """
            INSERT INTO idempotency_keys (owner, key, request_sha256, job_id, created_ms)
            VALUES (:owner, :key, :request_sha256, :job_id, \(now))
            """)
        static let deleteOlderThan = PostgresQuery("DELETE FROM idempotency_keys WHERE created_ms < :cutoff")
    }

    enum Events: SQLEventStatements {
        /// The caller holds the job's row lock, so no two transactions number the same job's events.
        static let insert = PostgresQuery(
            """
            INSERT INTO job_events (job_id, seq, at_ms, kind, data_json)
            VALUES (:job_id, (SELECT coalesce(max(seq), 0) + 1 FROM job_events WHERE job_id = :job_id),
                    \(now), :kind, :data_json)
            """)
        static let page = PostgresQuery(
            """
            SELECT seq, at_ms, kind, data_json FROM job_events WHERE job_id = :job_id AND seq > :after
            ORDER BY seq LIMIT :limit
            """)
    }

    enum Datasets: SQLDatasetStatements {
        static let columns =
            "id, name, rows, features, classes, sha256, builtin, created_ms, octet_length(content) + chunked_bytes AS content_bytes, owner, profile, shape"
        static let insert = PostgresQuery(
            """
            INSERT INTO datasets (id, name, rows, features, classes, sha256, content, builtin, created_ms, owner, profile, shape)
            VALUES (:id, :name, :rows, :features, :classes, :sha256, :content, :builtin::integer::boolean, \(now), :owner, :profile, :shape)
            RETURNING \(columns)
            """)
        static let byID = PostgresQuery("SELECT \(columns) FROM datasets WHERE id = :id")
        static let bySHA256 = PostgresQuery(
            "SELECT \(columns) FROM datasets WHERE sha256 = :sha256 AND (owner = :owner OR builtin)")
        static let all = PostgresQuery(
            "SELECT \(columns) FROM datasets WHERE builtin OR (:owner::text IS NULL OR owner = :owner::text) ORDER BY builtin DESC, created_ms, id"
        )
        static let content = PostgresQuery("SELECT content FROM datasets WHERE id = :id")
        static let exists = PostgresQuery("SELECT 1 FROM datasets WHERE id = :id")
        static let isInUse = PostgresQuery(
            """
            SELECT 1 FROM jobs WHERE dataset_id = :id AND status IN ('queued', 'running') LIMIT 1
            """)
        static let delete = PostgresQuery("DELETE FROM datasets WHERE id = :id")
    }

    enum Migrations {
        /// One lock for every node's migrator: two nodes starting at once apply each migration once.
        static let lock = "SELECT pg_advisory_xact_lock(1383495530)"
        static let createBookkeeping = """
            CREATE TABLE IF NOT EXISTS schema_migrations (
              version integer PRIMARY KEY,
              name text NOT NULL,
              checksum text NOT NULL,
              applied_ms bigint NOT NULL
            )
            """
        static let bookkeepingExists = PostgresQuery("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        static let selectApplied = PostgresQuery("SELECT version, checksum FROM schema_migrations ORDER BY version")
        static let insertApplied = PostgresQuery(
            """
            INSERT INTO schema_migrations (version, name, checksum, applied_ms)
            VALUES (:version, :name, :checksum, :applied_ms)
            """)
    }
}

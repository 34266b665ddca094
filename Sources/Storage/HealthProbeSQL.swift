/// The probe each engine's `DatabaseHealth` runs: write a row into `health_probe` (migration 4)
/// and delete it again, in one transaction. Unlike an empty transaction it needs a real page, so
/// a full disk or a read-only database fails it.
enum HealthProbeSQL {
    static let sqlite = """
        INSERT INTO health_probe (probed_at_ms) VALUES (CAST(strftime('%s', 'now') AS INTEGER) * 1000);
        DELETE FROM health_probe;
        """

    /// Sent as one simple query, which PostgreSQL runs as one transaction.
    static let postgresql = """
        INSERT INTO health_probe (probed_at) VALUES (now());
        DELETE FROM health_probe;
        """
}

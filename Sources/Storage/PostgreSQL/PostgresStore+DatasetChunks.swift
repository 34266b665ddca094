/// The statements of data sets stored in chunks (`SQLStore+DatasetChunks`).
extension PostgresSQL {
    enum DatasetChunks: SQLDatasetChunkStatements {
        static let put = PostgresQuery(
            "INSERT INTO dataset_chunks (dataset_id, seq, content) VALUES (:id, :seq, :content)")
        static let commit = PostgresQuery(
            """
            INSERT INTO datasets (id, name, rows, features, classes, sha256, content, builtin, created_ms, owner, profile, shape, chunked_bytes)
            VALUES (:id, :name, :rows, :features, :classes, :sha256, '\\x'::bytea, false, \(now), :owner, :profile, :shape, :chunked_bytes)
            RETURNING \(Datasets.columns)
            """)
        static let discard = PostgresQuery("DELETE FROM dataset_chunks WHERE dataset_id = :id")
        static let chunk = PostgresQuery("SELECT content FROM dataset_chunks WHERE dataset_id = :id AND seq = :seq")
    }
}

/// Data sets stored in chunks (`DatasetChunkStore`).
extension PostgresStore {
    public func putDatasetChunk(id: String, seq: Int, content: [UInt8]) throws {
        try write { _ = try $0.run(PostgresSQL.DatasetChunks.put, [":id": .text(id), ":seq": .integer(seq), ":content": .blob(content)]) }
    }

    public func commitChunkedDataset(_ new: NewDataset, chunkedBytes: Int, nowMs: Int64) throws -> InsertDatasetOutcome {
        try write { connection in
            if let existing = try connection.queryFirst(
                PostgresSQL.Datasets.bySHA256, [":sha256": .text(new.sha256), ":owner": .text(new.owner)], DatasetRecord.init)
            {
                _ = try connection.run(PostgresSQL.DatasetChunks.discard, [":id": .text(new.id)])
                return .existing(existing)
            }
            let created = try connection.queryFirst(PostgresSQL.DatasetChunks.commit, [
                ":id": .text(new.id), ":name": .text(new.name), ":rows": .integer(new.rows),
                ":features": .integer(new.features), ":classes": .integer(new.classes),
                ":sha256": .text(new.sha256), ":chunked_bytes": .integer(chunkedBytes),
                ":owner": .text(new.owner), ":now": now(nowMs),
            ], DatasetRecord.init)
            guard let created else { preconditionFailure("INSERT ... RETURNING answers the row it inserted") }
            return .created(created)
        }
    }

    public func discardDatasetChunks(id: String) throws {
        try write { _ = try $0.run(PostgresSQL.DatasetChunks.discard, [":id": .text(id)]) }
    }

    public func datasetChunk(id: String, seq: Int) throws -> [UInt8]? {
        try read { try $0.queryFirst(PostgresSQL.DatasetChunks.chunk, [":id": .text(id), ":seq": .integer(seq)]) { $0.blob(0) } }
    }
}

extension PostgresSQL {
    enum DatasetChunks {
        static let put = PostgresQuery("INSERT INTO dataset_chunks (dataset_id, seq, content) VALUES (:id, :seq, :content)")
        static let commit = PostgresQuery("""
            INSERT INTO datasets (id, name, rows, features, classes, sha256, content, builtin, created_ms, owner, chunked_bytes)
            VALUES (:id, :name, :rows, :features, :classes, :sha256, '\\x'::bytea, false, \(now), :owner, :chunked_bytes)
            RETURNING \(Datasets.columns)
            """)
        static let discard = PostgresQuery("DELETE FROM dataset_chunks WHERE dataset_id = :id")
        static let chunk = PostgresQuery("SELECT content FROM dataset_chunks WHERE dataset_id = :id AND seq = :seq")
    }
}

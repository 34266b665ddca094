/// Data sets stored in chunks (`DatasetChunkStore`).
extension SQLiteStore {
    public func putDatasetChunk(id: String, seq: Int, content: [UInt8]) throws {
        try write { _ = try $0.run(SQLiteSQL.DatasetChunks.put, [":id": .text(id), ":seq": .integer(seq), ":content": .blob(content)]) }
    }

    public func commitChunkedDataset(_ new: NewDataset, chunkedBytes: Int, nowMs: Int64) throws -> InsertDatasetOutcome {
        try write { database in
            if let existing = try database.queryFirst(
                SQLiteSQL.Datasets.bySHA256, [":sha256": .text(new.sha256), ":owner": .text(new.owner)], DatasetRecord.init)
            {
                _ = try database.run(SQLiteSQL.DatasetChunks.discard, [":id": .text(new.id)])
                return .existing(existing)
            }
            let created = try database.queryFirst(SQLiteSQL.DatasetChunks.commit, [
                ":id": .text(new.id), ":name": .text(new.name), ":rows": .integer(new.rows),
                ":features": .integer(new.features), ":classes": .integer(new.classes),
                ":sha256": .text(new.sha256), ":chunked_bytes": .integer(chunkedBytes),
                ":owner": .text(new.owner), ":now": .integer(nowMs),
            ], DatasetRecord.init)
            guard let created else { preconditionFailure("INSERT ... RETURNING answers the row it inserted") }
            return .created(created)
        }
    }

    public func discardDatasetChunks(id: String) throws {
        try write { _ = try $0.run(SQLiteSQL.DatasetChunks.discard, [":id": .text(id)]) }
    }

    public func datasetChunk(id: String, seq: Int) throws -> [UInt8]? {
        try read { try $0.queryFirst(SQLiteSQL.DatasetChunks.chunk, [":id": .text(id), ":seq": .integer(seq)]) { $0.blob(0) } }
    }
}

extension SQLiteSQL {
    enum DatasetChunks {
        static let put = "INSERT INTO dataset_chunks (dataset_id, seq, content) VALUES (:id, :seq, :content)"
        static let commit = """
            INSERT INTO datasets (id, name, rows, features, classes, sha256, content, builtin, created_ms, owner, chunked_bytes)
            VALUES (:id, :name, :rows, :features, :classes, :sha256, X'', 0, :now, :owner, :chunked_bytes)
            RETURNING \(Datasets.columns)
            """
        static let discard = "DELETE FROM dataset_chunks WHERE dataset_id = :id"
        static let chunk = "SELECT content FROM dataset_chunks WHERE dataset_id = :id AND seq = :seq"
    }
}

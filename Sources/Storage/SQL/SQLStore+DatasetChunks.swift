/// Data sets stored in chunks as their upload arrives (`DatasetChunkStore`).
extension SQLStore {
    public func putDatasetChunk(id: String, seq: Int, content: [UInt8]) throws {
        try write {
            _ = try $0.run(
                SQL.DatasetChunks.put, [":id": .text(id), ":seq": .integer(seq), ":content": .blob(content)])
        }
    }

    /// Creates the data set's row over its stored chunks; the same owner's data set (or a built-in)
    /// with the same SHA-256 is answered instead, and the new chunks are dropped.
    public func commitChunkedDataset(_ new: NewDataset, chunkedBytes: Int, nowMs: Int64) throws -> InsertDatasetOutcome
    {
        try write { connection in
            if let existing = try connection.queryFirst(
                SQL.Datasets.bySHA256, [":sha256": .text(new.sha256), ":owner": .text(new.owner)], DatasetRecord.init)
            {
                try connection.run(SQL.DatasetChunks.discard, [":id": .text(new.id)])
                return .existing(existing)
            }
            let created = try connection.queryFirst(
                SQL.DatasetChunks.commit,
                [
                    ":id": .text(new.id), ":name": .text(new.name), ":rows": .integer(new.rows),
                    ":features": .integer(new.features), ":classes": .integer(new.classes),
                    ":sha256": .text(new.sha256), ":chunked_bytes": .integer(chunkedBytes),
                    ":owner": .text(new.owner), ":profile": new.profile.map { .text($0) } ?? .null,
                    ":shape": DatasetRecord.shapeText(new.shape), ":now": now(nowMs),
                ], DatasetRecord.init)
            guard let created else { preconditionFailure("INSERT ... RETURNING answers the row it inserted") }
            return .created(created)
        }
    }

    public func discardDatasetChunks(id: String) throws {
        try write { _ = try $0.run(SQL.DatasetChunks.discard, [":id": .text(id)]) }
    }

    public func datasetChunk(id: String, seq: Int) throws -> [UInt8]? {
        try read {
            try $0.queryFirst(SQL.DatasetChunks.chunk, [":id": .text(id), ":seq": .integer(seq)]) { $0.blob("content") }
        }
    }
}

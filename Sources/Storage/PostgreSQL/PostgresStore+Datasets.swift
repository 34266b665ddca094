/// Uploaded and built-in datasets.
extension PostgresStore {
    /// Stores a parsed dataset; the same owner's dataset (or a built-in) with the same SHA-256 is answered instead.
    public func insertDataset(_ new: NewDataset, nowMs: Int64) throws -> InsertDatasetOutcome {
        try write { connection in
            if let existing = try connection.queryFirst(
                PostgresSQL.Datasets.bySHA256, [":sha256": .text(new.sha256), ":owner": .text(new.owner)], DatasetRecord.init)
            {
                return .existing(existing)
            }
            let created = try connection.queryFirst(PostgresSQL.Datasets.insert, [
                ":id": .text(new.id), ":name": .text(new.name), ":rows": .integer(new.rows),
                ":features": .integer(new.features), ":classes": .integer(new.classes),
                ":sha256": .text(new.sha256), ":content": .blob(new.content),
                ":builtin": .bool(new.builtin), ":owner": .text(new.owner), ":profile": new.profile.map { .text($0) } ?? .null, ":now": now(nowMs),
            ], DatasetRecord.init)!
            return .created(created)
        }
    }

    /// A dataset's metadata, or nil.
    public func dataset(id: String) throws -> DatasetRecord? {
        try read { try $0.queryFirst(PostgresSQL.Datasets.byID, [":id": .text(id)], DatasetRecord.init) }
    }

    /// A dataset's stored content, or nil.
    public func datasetContent(id: String) throws -> [UInt8]? {
        try read { try $0.queryFirst(PostgresSQL.Datasets.content, [":id": .text(id)]) { $0.blob(0) } }
    }

    /// The built-ins and `owner`'s datasets (everyone's when nil), built-ins first, then oldest first.
    public func listDatasets(owner: String?) throws -> [DatasetRecord] {
        try read { try $0.query(PostgresSQL.Datasets.all, [":owner": .text(owner)], DatasetRecord.init) }
    }

    /// Deletes a dataset no queued or running job uses; terminal jobs keep their spec but lose
    /// the reference.
    public func deleteDataset(id: String) throws -> DeleteDatasetOutcome {
        try write { connection in
            guard let dataset = try connection.queryFirst(PostgresSQL.Datasets.byID, [":id": .text(id)], DatasetRecord.init)
            else { return .notFound }
            guard !dataset.builtin else { return .builtin }
            let inUse = try connection.queryFirst(PostgresSQL.Datasets.isInUse, [":id": .text(id)]) { _ in true }
            guard inUse == nil else { return .inUse }
            try connection.run(PostgresSQL.Datasets.delete, [":id": .text(id)])
            return .deleted
        }
    }
}

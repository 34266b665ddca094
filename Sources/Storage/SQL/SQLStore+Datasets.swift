/// Uploaded and built-in datasets.
extension SQLStore {
    /// Stores a parsed dataset; the same owner's dataset (or a built-in) with the same SHA-256 is answered instead.
    public func insertDataset(_ new: NewDataset, nowMs: Int64) throws -> InsertDatasetOutcome {
        try write { connection in
            if let existing = try connection.queryFirst(
                SQL.Datasets.bySHA256, [":sha256": .text(new.sha256), ":owner": .text(new.owner)], DatasetRecord.init)
            {
                return .existing(existing)
            }
            let created = try connection.queryFirst(
                SQL.Datasets.insert,
                [
                    ":id": .text(new.id), ":name": .text(new.name), ":rows": .integer(new.rows),
                    ":features": .integer(new.features), ":classes": .integer(new.classes),
                    ":sha256": .text(new.sha256), ":content": .blob(new.content),
                    ":builtin": .bool(new.builtin), ":owner": .text(new.owner),
                    ":profile": new.profile.map { .text($0) } ?? .null, ":shape": DatasetRecord.shapeText(new.shape),
                    ":now": now(nowMs),
                ], DatasetRecord.init)!
            return .created(created)
        }
    }

    /// A dataset's metadata, or nil.
    public func dataset(id: String) throws -> DatasetRecord? {
        try read { try $0.queryFirst(SQL.Datasets.byID, [":id": .text(id)], DatasetRecord.init) }
    }

    /// A dataset's stored content, or nil.
    public func datasetContent(id: String) throws -> [UInt8]? {
        try read { try $0.queryFirst(SQL.Datasets.content, [":id": .text(id)]) { $0.blob("content") } }
    }

    /// The built-ins and `owner`'s datasets (everyone's when nil), built-ins first, then oldest first.
    public func listDatasets(owner: String?) throws -> [DatasetRecord] {
        try read { try $0.query(SQL.Datasets.all, [":owner": .text(owner)], DatasetRecord.init) }
    }

    /// Deletes a dataset no queued or running job uses; terminal jobs keep their spec but lose
    /// the reference.
    public func deleteDataset(id: String) throws -> DeleteDatasetOutcome {
        try write { connection in
            guard let dataset = try connection.queryFirst(SQL.Datasets.byID, [":id": .text(id)], DatasetRecord.init)
            else { return .notFound }
            guard !dataset.builtin else { return .builtin }
            let inUse = try connection.queryFirst(SQL.Datasets.isInUse, [":id": .text(id)]) { _ in true }
            guard inUse == nil else { return .inUse }
            try connection.run(SQL.Datasets.delete, [":id": .text(id)])
            return .deleted
        }
    }
}

/// The decoders of the store's records, by column name: one per record for both engines.
extension JobRecord {
    /// Decodes a row selected with an engine's `Jobs.columns`.
    init(row: some SQLRow) {
        let rawStatus = row.string("status")
        guard let status = JobStatus(rawValue: rawStatus) else {
            preconditionFailure("unknown job status \(rawStatus); the CHECK constraint forbids it")
        }
        self.init(
            id: row.string("id"), name: row.string("name"), status: status, specJSON: row.string("spec_json"),
            datasetID: row.optionalString("dataset_id"), priority: row.int("priority"),
            createdMs: row.int64("created_ms"), startedMs: row.optionalInt64("started_ms"),
            finishedMs: row.optionalInt64("finished_ms"), progressDone: row.int("progress_done"),
            progressTotal: row.int("progress_total"), progressFraction: row.double("progress_fraction"),
            latestJSON: row.optionalString("latest_json"), bestJSON: row.optionalString("best_json"),
            errorCode: row.optionalString("error_code"), errorMessage: row.optionalString("error_message"),
            attempt: row.int("attempt"), maxAttempts: row.int("max_attempts"), runAfterMs: row.int64("run_after_ms"),
            leaseOwner: row.optionalString("lease_owner"), leaseExpiresMs: row.optionalInt64("lease_expires_ms"),
            cancelRequested: row.bool("cancel_requested"), version: row.int64("version"), owner: row.string("owner"),
            warningsJSON: row.optionalString("warnings_json"))
    }
}

extension HistoryRow {
    /// Decodes a row selected with an engine's `History.columns`.
    init(row: some SQLRow) {
        self.init(
            metaIteration: row.int("meta_iteration"), itemJSON: row.string("item_json"),
            trainingLoss: row.optionalDouble("training_loss"), validationLoss: row.optionalDouble("validation_loss"),
            validationError: row.optionalDouble("validation_error"),
            hypergradientNorm: row.optionalDouble("hypergradient_norm"), seconds: row.double("seconds"),
            createdMs: row.int64("created_ms"))
    }
}

extension HistoryOutline {
    /// Decodes a row selected with an engine's `History.outline`.
    init(row: some SQLRow) {
        self.init(
            metaIteration: row.int("meta_iteration"), itemBytes: row.int("item_bytes"),
            trainingLoss: row.optionalDouble("training_loss"), validationLoss: row.optionalDouble("validation_loss"),
            validationError: row.optionalDouble("validation_error"),
            hypergradientNorm: row.optionalDouble("hypergradient_norm"), seconds: row.double("seconds"))
    }
}

extension Checkpoint {
    /// Decodes `meta_iteration, state, updated_ms`.
    init(row: some SQLRow) {
        self.init(
            metaIteration: row.int("meta_iteration"), state: row.blob("state"), updatedMs: row.int64("updated_ms"))
    }
}

extension JobEvent {
    /// Decodes `seq, at_ms, kind, data_json`.
    init(row: some SQLRow) {
        self.init(
            seq: row.int64("seq"), atMs: row.int64("at_ms"), kind: row.string("kind"), dataJSON: row.string("data_json")
        )
    }
}

extension DatasetRecord {
    /// Decodes a row selected with an engine's `Datasets.columns` (the content's size as `content_bytes`).
    init(row: some SQLRow) {
        self.init(
            id: row.string("id"), name: row.string("name"), rows: row.int("rows"), features: row.int("features"),
            classes: row.int("classes"), sha256: row.string("sha256"), builtin: row.bool("builtin"),
            createdMs: row.int64("created_ms"), contentBytes: row.int("content_bytes"), owner: row.string("owner"),
            profile: row.optionalString("profile"),
            shape: row.optionalString("shape").flatMap(DatasetRecord.shape(text:)))
    }
}

extension APIKeyRecord {
    /// Decodes `name, role, created_ms, last_used_ms`.
    init(row: some SQLRow) {
        self.init(
            name: row.string("name"), role: PrincipalRole(rawValue: row.string("role")) ?? .user,
            createdMs: row.int64("created_ms"), lastUsedMs: row.optionalInt64("last_used_ms"))
    }
}

extension SessionRecord {
    /// Decodes `principal, role, created_ms, expires_ms, key_sha256`.
    init(row: some SQLRow) {
        self.init(
            principal: row.string("principal"), role: PrincipalRole(rawValue: row.string("role")) ?? .user,
            createdMs: row.int64("created_ms"), expiresMs: row.int64("expires_ms"),
            keySHA256: row.optionalString("key_sha256"))
    }
}

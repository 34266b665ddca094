import Digest
import Foundation
import HTTPServer
import JSON
import NodeResources
import Storage
import Synchronization
import Tuning

/// `/v1/datasets`: built-ins listed beside uploads (the upload itself: RewindAPI+Upload.swift).
extension RewindAPI {
    static let maximumDatasetNameLength = 200

    func listDatasets(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let uploaded = try storage { try store.listDatasets(owner: context.credential.visibleOwner) }
        let all = BuiltinDatasets.names.map(Self.builtinResource) + uploaded.map(Self.datasetResource)
        return .json(["datasets": .array(all)])
    }

    func getDataset(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        if BuiltinDatasets.names.contains(id) { return .json(Self.builtinResource(id)) }
        guard let record = try storage({ try store.dataset(id: id) }),
            record.builtin || context.credential.sees(record.owner)
        else {
            throw .notFound("no data set \(id)")
        }
        return .json(withClassCounts(Self.datasetResource(record), id: id, profile: record.profile))
    }

    func deleteDataset(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        if BuiltinDatasets.names.contains(id) {
            throw .conflict("dataset-builtin", "\(id) is built in and cannot be deleted")
        }
        // Another principal's data set is 404, as a missing one.
        if let record = try storage({ try store.dataset(id: id) }), !record.builtin,
            !context.credential.sees(record.owner)
        {
            throw .notFound("no data set \(id)")
        }
        switch try storage({ try store.deleteDataset(id: id) }) {
        case .deleted: return HTTPResponse(status: .noContent)
        case .inUse: throw .conflict("dataset-in-use", "a queued or running job uses data set \(id)")
        case .builtin: throw .conflict("dataset-builtin", "\(id) is built in and cannot be deleted")
        case .notFound: throw .notFound("no data set \(id)")
        }
    }

    /// Bytes `owner`'s uploaded data sets take in their stored form.
    func storedDatasetBytes(owner: String) throws(APIError) -> Int {
        try storage { try store.listDatasets(owner: owner) }.filter { !$0.builtin }.reduce(0) { $0 + $1.contentBytes }
    }

    /// 507: `owner`'s stored data sets plus `bytes` more would pass the storage quota (a quota
    /// per principal: one tenant cannot fill the disk for the others).
    func quotaExceeded(stored: Int, adding bytes: Int) -> APIError {
        APIError(
            status: 507, slug: "storage-quota-exceeded", title: "The data set storage quota is full",
            detail: "stored data sets take \(stored) bytes; this one needs \(bytes) more and the quota is "
                + "\(configuration.datasetStorageQuota) bytes; delete data sets that are no longer needed")
    }

    static func datasetResource(_ record: DatasetRecord) -> JSONValue {
        var object = JSONObject()
        object["id"] = .string(record.id)
        object["name"] = .string(record.name)
        object["rows"] = .number(Double(record.rows))
        object["features"] = .number(Double(record.features))
        object["classes"] = .number(Double(record.classes))
        object["shape"] = JSONValue((record.shape ?? [record.features]).map(Double.init))
        object["sha256"] = .string(record.sha256)
        object["created_at"] = .string(Timestamp.rfc3339(record.createdMs))
        object["builtin"] = .bool(record.builtin)
        return .object(object)
    }

    /// A built-in data set; its id is its name, its fingerprint that of its exact encoded values.
    static func builtinResource(_ name: String) -> JSONValue {
        // Its size without decoding it (mnist is read from its file only when a job needs it).
        let info = BuiltinDatasets.info(name)!
        var object = JSONObject()
        object["id"] = .string(name)
        object["name"] = .string(name)
        object["rows"] = .number(Double(info.rows))
        object["features"] = .number(Double(info.features))
        object["classes"] = .number(Double(info.classes))
        let shape = BuiltinDatasets.shape(name).map { [$0.height, $0.width, $0.channels] } ?? [info.features]
        object["shape"] = JSONValue(shape.map(Double.init))
        object["sha256"] = .string(
            builtinFingerprints.withLock { cache in
                if let known = cache[name] ?? BuiltinDatasets.knownSHA256(name) { return known }
                let digest = SHA256.hex(of: BuiltinDatasets.named(name)!.encoded())
                cache[name] = digest
                return digest
            })
        object["created_at"] = .null
        object["builtin"] = .bool(true)
        return .object(object)
    }
}

private let builtinFingerprints = Mutex<[String: String]>([:])

/// `GET /v1/datasets/{id}/data`: a data set's rows as CSV, features then the label, the way an
/// upload is read, so that uploading the answer again gives the same numbers (every value is
/// written in its shortest exact form). The rows are written in blocks off the handler thread, a
/// built-in's from its decoded rows and an upload's from its stored chunks one at a time; each
/// block's text is drawn from the node's memory budget, and the next block waits while the client
/// has not read the last ones (`DatasetCSV.backlogBytes`), so a slow reader costs no memory.
extension RewindAPI {
    func getDatasetData(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        var headers = HTTPHeaders()
        headers.set("Content-Type", "text/csv; charset=utf-8")
        let budget = configuration.memoryBudget
        if let builtin = BuiltinDatasets.named(id) {
            return HTTPResponse(headers: headers, stream: DatasetCSV.start(builtin, budget: budget))
        }
        let found = try storage { try store.dataset(id: id) }
        guard let record = found, !record.builtin, context.credential.sees(record.owner) else {
            throw .notFound("no data set \(id)")
        }
        return HTTPResponse(headers: headers, stream: DatasetCSV.start(record, from: store, budget: budget))
    }
}

enum DatasetCSV {
    /// Where downloads write their rows, off the connections' event loops and handler threads.
    static let queue = DispatchQueue(label: "rewind.dataset-downloads", attributes: .concurrent)
    /// The text of one block of rows is about this long.
    static let blockBytes = 512 << 10
    /// A block is written only while the client owes at most this much of the ones before.
    static let backlogBytes = 1 << 20

    /// A writer that `dataset`'s rows are being written to.
    static func start(_ dataset: Dataset, budget: MemoryBudget) -> ResponseStreamWriter {
        let writer = ResponseStreamWriter()
        queue.async { stream(dataset, budget: budget, to: writer) }
        return writer
    }

    /// A writer that `record`'s rows are being written to.
    static func start(_ record: DatasetRecord, from store: Store, budget: MemoryBudget) -> ResponseStreamWriter {
        let writer = ResponseStreamWriter()
        queue.async { stream(record, from: store, budget: budget, to: writer) }
        return writer
    }

    /// Writes `dataset`'s rows a block at a time; stops when the client is gone. A block the
    /// budget cannot hold within a few seconds ends the body early (the head is sent already): a
    /// client checks the row count against the data set's `rows`, as `rewind export --spec --url` does.
    static func stream(_ dataset: Dataset, budget: MemoryBudget, to writer: ResponseStreamWriter) {
        defer { writer.finish() }
        _ = sendBlocks(of: dataset, budget, writer)
    }

    /// Writes `dataset`'s rows a block at a time; false once the client is gone or a block found
    /// no memory.
    private static func sendBlocks(of dataset: Dataset, _ budget: MemoryBudget, _ writer: ResponseStreamWriter) -> Bool
    {
        let rowsPerBlock = max(1, blockBytes / (dataset.features * 24 + 8))
        var start = 0
        while start < dataset.rows {
            let end = min(dataset.rows, start + rowsPerBlock)
            guard send(dataset.inputs, dataset.labels, rows: start..<end, features: dataset.features, budget, writer)
            else { return false }
            start = end
        }
        return true
    }

    /// Writes `record`'s rows chunk by chunk; stops when the client is gone. A stored chunk that
    /// cannot be read ends the body early, as above.
    static func stream(
        _ record: DatasetRecord, from store: Store, budget: MemoryBudget, to writer: ResponseStreamWriter
    ) {
        defer { writer.finish() }
        do {
            if let whole = try store.datasetContent(id: record.id), !whole.isEmpty {
                _ = sendBlocks(of: try Dataset(encoded: whole, name: record.name), budget, writer)
                return
            }
            var seq = 0
            while let chunk = try store.datasetChunk(id: record.id, seq: seq) {
                var part = DatasetAssembler(
                    name: record.name, rows: Int(chunk.count >= 4 ? chunk.littleEndianCount : 0),
                    features: record.features, classes: record.classes)
                try part.append(chunk: chunk)
                guard sendBlocks(of: try part.dataset(), budget, writer) else { return }
                seq += 1
            }
        } catch {
            return
        }
    }

    /// One block: its text's memory reserved, then written once the client has caught up.
    private static func send(
        _ inputs: [Double], _ labels: [Int32], rows: Range<Int>, features: Int, _ budget: MemoryBudget,
        _ writer: ResponseStreamWriter
    ) -> Bool {
        // Each value is at most 24 characters with its comma.
        guard let held = budget.reserve(rows.count * (features * 24 + 12), waitingAtMost: 5) else { return false }
        defer { held.release() }
        return writer.write(
            Self.rows(inputs, labels, rows: rows, features: features), waitingWhileBacklogExceeds: backlogBytes)
    }

    /// Rows of CSV: each row's features, then its label.
    static func rows(_ inputs: [Double], _ labels: [Int32], rows: Range<Int>, features: Int) -> [UInt8] {
        var text = ""
        text.reserveCapacity(rows.count * (features * 20 + 4))
        for row in rows {
            for value in inputs[(row * features)..<((row + 1) * features)] {
                text += value.description
                text += ","
            }
            text += String(labels[row])
            text += "\n"
        }
        return Array(text.utf8)
    }
}

extension [UInt8] {
    /// The row count a stored chunk starts with (little-endian UInt32).
    fileprivate var littleEndianCount: UInt32 {
        UInt32(self[0]) | UInt32(self[1]) << 8 | UInt32(self[2]) << 16 | UInt32(self[3]) << 24
    }
}

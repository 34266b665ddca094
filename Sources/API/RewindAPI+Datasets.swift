import Digest
import HTTPServer
import JSON
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

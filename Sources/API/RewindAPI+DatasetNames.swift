import JSON
import Storage
import Synchronization
import Tuning

/// A spec may name an uploaded data set as it names a built-in (`{"name": "blobs"}`); upload
/// names are unique per owner, so the name (among the caller's own uploads) resolves to one id before the spec is parsed. A job without a
/// `name` is called after its data set ("blobs schedules"), not after an id.
extension RewindAPI {
    /// The spec's bytes with an uploaded data set's name replaced by its id and a default job name
    /// from the data set's name; unchanged when nothing applies or the body is not a JSON object.
    func resolvingDatasetNames(_ body: [UInt8], _ credential: Credential) throws(APIError) -> [UInt8] {
        guard case .object(var spec)? = try? JSONValue.parse(body), case .object(var dataset)? = spec["dataset"] else {
            return body
        }
        var datasetName: String?
        if let name = dataset["name"]?.stringValue, dataset["id"] == nil, !BuiltinDatasets.names.contains(name) {
            guard let record = try storage({ try store.listDatasets(owner: credential.owner) }).first(where: { !$0.builtin && $0.name == name }) else { return body }
            dataset = ["id": .string(record.id)]
            spec["dataset"] = .object(dataset)
            datasetName = name
        } else if let id = dataset["id"]?.stringValue, spec["name"] == nil {
            datasetName = try storage { try store.dataset(id: id) }.flatMap { credential.sees($0.owner) ? $0.name : nil }
        }
        guard let datasetName else { return body }
        if spec["name"] == nil { spec["name"] = .string("\(datasetName) schedules") }
        return JSONValue.object(spec).serialized()
    }

    /// An unknown `/dataset/name` explained with the names that exist, uploads included.
    func explainingDatasetNames(_ problem: ProblemDetails, _ credential: Credential) -> ProblemDetails {
        guard problem.errors.contains(where: { $0.field == "/dataset/name" }) else { return problem }
        let uploaded = ((try? store.listDatasets(owner: credential.owner)) ?? []).filter { !$0.builtin }.map(\.name)
        let errors = problem.errors.map { error in
            guard error.field == "/dataset/name" else { return error }
            let names = (BuiltinDatasets.names + uploaded).map { "\"\($0)\"" }.joined(separator: ", ")
            return SpecError(field: error.field, message: "no data set has this name; built in or uploaded: \(names)")
        }
        return .invalidSpec(errors)
    }
}

extension RewindAPI {
    /// A job's `dataset` member with the data set's name beside its id (`{"id": ..., "name":
    /// "wine"}`), so lists, job pages and comparisons show the name the user knows.
    func namingDataset(_ member: JSONValue) -> JSONValue {
        guard case .object(var object) = member, object["name"] == nil, let id = object["id"]?.stringValue,
              let name = uploadName(id: id) else { return member }
        object["name"] = .string(name)
        return .object(object)
    }

    /// The name an upload was stored under; names never change, so they are kept once read.
    private func uploadName(id: String) -> String? {
        if let known = uploadNamesByID.withLock({ $0[id] }) { return known }
        guard let record = try? store.dataset(id: id) else { return nil }
        uploadNamesByID.withLock { names in
            if names.count > 10_000 { names.removeAll() }
            names[id] = record.name
        }
        return record.name
    }
}

/// Upload ids to names, across the process's API instances (ids are unique time-ordered ids).
private let uploadNamesByID = Mutex<[String: String]>([:])

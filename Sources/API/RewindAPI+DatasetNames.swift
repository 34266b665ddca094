import JSON
import Jobs
import Storage
import Synchronization
import Tuning

/// A submission is parsed once (bytes → JSON → typed `JobSpec`) and its data set resolved once.
/// A spec may name an uploaded data set as it names a built-in (`{"name": "blobs"}`; upload names
/// are unique per owner) or give its id; a job without a `name` is called after its data set
/// ("blobs schedules"), not after an id.
extension RewindAPI {
    /// The submitted spec as a ready run, or the problem to answer.
    func prepareSubmission(_ body: [UInt8], _ credential: Credential) throws(APIError) -> SubmittedJob {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
        } catch {
            throw APIError(ProblemDetails(.malformedJSON(error)))
        }
        let upload = try callersUpload(value["dataset"], credential)
        let datasets = PermittedDatasets(store: store, upload: upload)
        switch JobRequest.prepareJob(specJSON: value, upload: upload, datasets: datasets) {
        case .success(let submission): return submission
        case .failure(let error): throw APIError(explainingDatasetNames(ProblemDetails(error), credential))
        }
    }

    /// The caller's own upload that a spec's `dataset` names or gives the id of: one look-up of its
    /// record, no data read. Nil for built-ins, for unknown names, and for ids that are missing or
    /// belong to another principal: those two then answer alike, "no such data set: <id>".
    func callersUpload(_ dataset: JSONValue?, _ credential: Credential) throws(APIError) -> UploadedDatasetName? {
        guard case .object(let fields)? = dataset, fields.count == 1 else { return nil }
        if let name = fields["name"]?.stringValue, !BuiltinDatasets.names.contains(name) {
            let records = try storage { try store.listDatasets(owner: credential.owner) }
            return records.first { !$0.builtin && $0.name == name }.map {
                UploadedDatasetName(id: $0.id, name: $0.name)
            }
        }
        if let id = fields["id"]?.stringValue, !BuiltinDatasets.names.contains(id) {
            guard let record = try storage({ try store.dataset(id: id) }), !record.builtin,
                credential.sees(record.owner)
            else { return nil }
            return UploadedDatasetName(id: record.id, name: record.name)
        }
        return nil
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

/// Built-ins, and of the uploads only the one the caller was found to own: any other id is "no
/// such data set" before a byte of its content is read, so its size and shape never reach an error.
private struct PermittedDatasets: DatasetResolver {
    let store: Store
    let upload: UploadedDatasetName?

    func dataset(_ reference: DatasetReference) -> Dataset? {
        if case .uploaded(let id) = reference, !BuiltinDatasets.names.contains(id) {
            guard let upload, upload.id == id else { return nil }
            return StoreDatasetResolver(store: store).content(of: upload)
        }
        return StoreDatasetResolver(store: store).dataset(reference)
    }
}

extension RewindAPI {
    /// A job's `dataset` member with the data set's name beside its id (`{"id": ..., "name":
    /// "wine"}`), so lists, job pages and comparisons show the name the user knows.
    func namingDataset(_ member: JSONValue) -> JSONValue {
        guard case .object(var object) = member, object["name"] == nil, let id = object["id"]?.stringValue,
            let name = uploadName(id: id)
        else { return member }
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

import Foundation
import HTTPClient
import JSON
import Tuning

/// Resolves what `LocalDatasetResolver` does (built-ins, local CSV files) and, for `rewind export
/// --spec`, an uploaded data set named by its name or id: its rows are read from the service at
/// `--url` (`GET /v1/datasets/{id}/data`, the CSV of the upload's exact numbers) and parsed as the
/// upload was, so the export trains on exactly what the service's job trained on.
struct ServiceDatasetResolver: DatasetResolver {
    let local: LocalDatasetResolver
    let service: ServiceOptions

    func dataset(_ reference: DatasetReference) -> Dataset? {
        try? resolve(reference).get()
    }

    func resolve(_ reference: DatasetReference) -> Result<Dataset, JobRequestError> {
        guard case .uploaded(let id) = reference, BuiltinDatasets.named(id) == nil else {
            return local.resolve(reference)
        }
        return download(id: id, field: "/dataset/id")
    }

    /// The upload a spec's `{"dataset": {"name": ...}}` names, looked up in the caller's list at the
    /// service (as the service does for a submission); nil for anything else.
    func upload(namedIn dataset: JSONValue?) -> Result<UploadedDatasetName?, JobRequestError> {
        guard case .object(let fields)? = dataset, fields.count == 1, let name = fields["name"]?.stringValue,
            BuiltinDatasets.named(name) == nil
        else { return .success(nil) }
        let field = "/dataset/name"
        let list: HTTPClientResponse
        switch get("/v1/datasets", field: field) {
        case .success(let response): list = response
        case .failure(let error): return .failure(error)
        }
        let uploads = ((try? JSONValue.parse(list.body))?["datasets"]?.arrayValue ?? []).filter {
            $0["builtin"]?.boolValue == false
        }
        guard let id = uploads.first(where: { $0["name"]?.stringValue == name })?["id"]?.stringValue else {
            let names = uploads.compactMap { $0["name"]?.stringValue }.map { "\"\($0)\"" }.joined(separator: ", ")
            return .failure(
                Self.failure(
                    field,
                    "no data set named \"\(name)\" at \(service.serviceURL) (uploads there: \(names.isEmpty ? "none" : names)); "
                        + Self.whatToDo))
        }
        return .success(UploadedDatasetName(id: id, name: name))
    }

    /// The upload's rows, checked against its description's row count (a download cut short by a
    /// storage failure on the service's side is never taken for the whole data set).
    private func download(id: String, field: String) -> Result<Dataset, JobRequestError> {
        let path = "/v1/datasets/\(ServiceOptions.queryValue(id))"
        let description: HTTPClientResponse
        let response: HTTPClientResponse
        switch (get(path, field: field), get(path + "/data", field: field)) {
        case (.success(let about), .success(let answer)): (description, response) = (about, answer)
        case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
        }
        let dataset: Dataset
        do {
            dataset = try CSVDatasetParser.parse(response.body, name: id)
        } catch {
            return .failure(.invalidDataset(error, field: field))
        }
        let rows = (try? JSONValue.parse(description.body))?["rows"]?.intValue
        guard rows == dataset.rows else {
            return .failure(
                Self.failure(
                    field,
                    "the service sent \(dataset.rows) rows of data set \(id), which has \(rows.map(String.init) ?? "?"); "
                        + "try again, or " + Self.whatToDo))
        }
        return .success(dataset)
    }

    private func get(_ path: String, field: String) -> Result<HTTPClientResponse, JobRequestError> {
        let response: HTTPClientResponse
        do {
            response = try service.client(timeout: 300).request("GET", path, body: [], headers: service.headers)
        } catch {
            return .failure(
                Self.failure(
                    field,
                    "the data set is an upload and the service at \(service.serviceURL) cannot be reached (\(error)); "
                        + Self.whatToDo))
        }
        guard response.status == 200 else {
            let detail = (try? JSONValue.parse(response.body))?["detail"]?.stringValue ?? response.text
            let key = response.status == 401 ? " (pass --api-key KEY or set REWIND_API_KEY)" : ""
            return .failure(
                Self.failure(
                    field,
                    "the service at \(service.serviceURL) answered \(response.status): \(detail)\(key); "
                        + Self.whatToDo))
        }
        return .success(response)
    }

    static let whatToDo =
        "give the service that holds the upload with --url (or REWIND_URL) and --api-key (or REWIND_API_KEY), "
        + "or name the CSV you uploaded as a local file, {\"dataset\": {\"path\": \"my.csv\"}} (relative to the spec)"

    private static func failure(_ field: String, _ message: String) -> JobRequestError {
        .invalidSpec([SpecError(field: field, message: message)])
    }
}

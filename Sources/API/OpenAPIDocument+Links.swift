import JSON

extension OpenAPIDocument {
    /// The responses that carry a job, as (operationId, status, where in the body its id is): each
    /// `Job` an operation on one job answers, and the newest job of a listing.
    static let jobResponses: [(operation: String, status: String, id: String)] = [
        ("createJob", "202", "/id"), ("createJob", "200", "/id"), ("getJob", "200", "/id"),
        ("cancelJob", "202", "/id"), ("retryJob", "202", "/id"), ("listJobs", "200", "/jobs/0/id"),
    ]

    /// Values for the path parameters besides the job's id that a link cannot take from the
    /// response: the plot every job has.
    static let linkConstants: [String: [String: String]] = ["getJobPlot": ["name": "loss"]]

    /// `document` with OpenAPI `links` on every response in `jobResponses` to each operation that
    /// takes a job id (`JobID`), its `id` taken from the response's body, so that a client (or a
    /// stateful fuzzer) knows where a job's id leads. No operation links to itself; a listing
    /// without jobs has no job to link to.
    static func withJobLinks(_ document: String) -> String {
        guard case .object(var root)? = try? JSONValue.parse(document), case .object(var paths)? = root["paths"] else {
            preconditionFailure("the OpenAPI document is not a JSON object with paths")
        }
        let targets = jobOperations(in: paths)
        for (source, status, pointer) in jobResponses {
            guard let (path, method) = location(of: source, in: paths),
                case .object(var item)? = paths[path], case .object(var operation)? = item[method],
                case .object(var responses)? = operation["responses"], case .object(var response)? = responses[status]
            else { preconditionFailure("\(source) has no \(status) response to link from") }
            var links = response["links"]?.objectValue ?? JSONObject()
            for target in targets where target.id != source {
                var parameters: JSONObject = ["id": .string("$response.body#\(pointer)")]
                for (name, value) in linkConstants[target.id] ?? [:] { parameters[name] = .string(value) }
                links[target.id] = [
                    "operationId": .string(target.id), "parameters": .object(parameters),
                    "description": .string(target.summary),
                ]
            }
            response["links"] = .object(links)
            responses[status] = .object(response)
            operation["responses"] = .object(responses)
            item[method] = .object(operation)
            paths[path] = .object(item)
        }
        root["paths"] = .object(paths)
        return JSONValue.object(root).serializedString()
    }

    /// Every operation whose path or own parameters include the `JobID` parameter, in document
    /// order, with its summary.
    static func jobOperations(in paths: JSONObject) -> [(id: String, summary: String)] {
        let jobID: JSONValue = ["$ref": "#/components/parameters/JobID"]
        var found: [(id: String, summary: String)] = []
        for (_, item) in paths {
            let shared = item["parameters"]?.arrayValue ?? []
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let operation = item[method], let id = operation["operationId"]?.stringValue else { continue }
                let own = operation["parameters"]?.arrayValue ?? []
                if (shared + own).contains(jobID) {
                    found.append((id, operation["summary"]?.stringValue ?? id))
                }
            }
        }
        return found
    }

    /// The path and method of the operation with this `operationId`.
    static func location(of operationID: String, in paths: JSONObject) -> (path: String, method: String)? {
        for (path, item) in paths {
            for (method, operation) in item.objectValue ?? JSONObject()
            where operation["operationId"]?.stringValue == operationID {
                return (path, method)
            }
        }
        return nil
    }
}

import JSON

extension OpenAPIDocument {
    /// The statuses any request can get whatever its route, from the HTTP server and the API's
    /// checks before the route runs, with the component response describing each.
    static let commonResponses: [(code: String, response: String)] = [
        ("400", "BadRequest"), ("408", "RequestTimeout"), ("413", "ContentTooLarge"), ("421", "MisdirectedRequest"),
        ("429", "TooManyRequests"), ("431", "HeaderFieldsTooLarge"), ("500", "InternalError"),
        ("503", "ServiceUnavailable"),
    ]

    /// `source` with every status an operation can answer listed on it, so that a fuzzer's
    /// status check can fail (a catch-all `default` would accept anything): the common ones
    /// above, 401 on operations that need a key, 403 on state changes. Statuses an operation
    /// already lists keep their own description.
    static func withCommonResponses(_ source: String) -> String {
        guard case .object(var root)? = try? JSONValue.parse(source), case .object(var paths)? = root["paths"] else {
            preconditionFailure("the OpenAPI document is not a JSON object with paths")
        }
        for path in paths.keys {
            guard case .object(var item)? = paths[path] else { continue }
            for method in item.keys where ["get", "post", "delete"].contains(method) {
                guard case .object(var operation)? = item[method], case .object(var responses)? = operation["responses"]
                else { continue }
                var added = commonResponses
                if operation["security"]?.arrayValue?.isEmpty != true { added.append(("401", "Unauthorized")) }
                if method != "get" { added.append(("403", "Forbidden")) }
                for (code, name) in added where responses[code] == nil {
                    responses[code] = ["$ref": .string("#/components/responses/\(name)")]
                }
                operation["responses"] = .object(responses)
                item[method] = .object(operation)
            }
            paths[path] = .object(item)
        }
        root["paths"] = .object(paths)
        return JSONValue.object(root).serializedString()
    }
}

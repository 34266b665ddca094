import JSON

extension OpenAPIDocument {
    /// The document as served: each operation that takes a body states the largest body its
    /// route accepts (`x-maximum-body-bytes` on its `requestBody`), taken from the same route
    /// options and configuration the server enforces, so the two cannot disagree.
    static func served(routes: [Route], bodyLimit: (RouteOptions.BodyLimit) -> Int) -> [UInt8] {
        guard case .object(var root)? = try? JSONValue.parse(json), case .object(var paths)? = root["paths"] else {
            preconditionFailure("the OpenAPI literal is a JSON object with paths")
        }
        for route in routes {
            let method = route.method.rawValue.lowercased()
            guard case .object(var path)? = paths[route.pattern.template], case .object(var operation)? = path[method],
                case .object(var body)? = operation["requestBody"]
            else { continue }
            body["x-maximum-body-bytes"] = .number(Double(bodyLimit(route.options.bodyLimit)))
            operation["requestBody"] = .object(body)
            path[method] = .object(operation)
            paths[route.pattern.template] = .object(path)
        }
        root["paths"] = .object(paths)
        return JSONValue.object(root).serialized()
    }
}

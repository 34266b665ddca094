import JSON

/// Builds the small JSON objects of `job_events.data_json`.
enum EventData {
    /// A JSON object of the given fields, in order; `.null` fields are left out.
    static func json(_ fields: KeyValuePairs<String, SQLValue>) -> String {
        var object = JSONObject()
        for (key, value) in fields {
            switch value {
            case .null: continue
            case .integer(let integer): object[key] = .number(Double(integer))
            case .real(let real): object[key] = .number(real)
            case .text(let text): object[key] = .string(text)
            case .blob: preconditionFailure("event data holds no blobs")
            }
        }
        return JSONValue.object(object).serializedString()
    }
}

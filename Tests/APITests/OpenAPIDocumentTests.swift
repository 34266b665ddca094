import Foundation
import JSON
import Jobs
import Learning
import Storage
import Testing

@testable import API
@testable import Tuning

@Suite struct OpenAPIDocumentTests {
    /// Every path and method of `docs/api.md`; the document must describe exactly these.
    static let contract: [String: Set<String>] = [
        "/v1/jobs": ["get", "post"],
        "/v1/jobs/{id}": ["get", "delete"],
        "/v1/jobs/{id}/cancel": ["post"],
        "/v1/jobs/{id}/retry": ["post"],
        "/v1/jobs/{id}/history": ["get"],
        "/v1/jobs/{id}/result": ["get"],
        "/v1/jobs/{id}/schedule": ["get"],
        "/v1/jobs/{id}/events": ["get"],
        "/v1/jobs/{id}/plots/{name}.svg": ["get"],
        "/v1/datasets": ["get", "post"],
        "/v1/datasets/{id}": ["get", "delete"],
        "/v1/datasets/{id}/data": ["get"],
        "/healthz": ["get"],
        "/readyz": ["get"],
        "/metrics": ["get"],
        "/openapi.json": ["get"],
        "/": ["get"],
        "/jobs/{id}": ["get"],
        "/logout": ["post"],
    ]
    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    let document: OpenAPITestDocument

    init() throws {
        document = OpenAPITestDocument(root: try JSONValue.parse(OpenAPIDocument.json))
    }

    @Test func theDocumentParsesAsJSONAndDeclaresOpenAPI31() throws {
        let version = try #require(document.root["openapi"]?.stringValue)
        #expect(version.hasPrefix("3.1."))
        #expect(document.root["info"]?["title"]?.stringValue == "Rewind")
    }

    @Test func theDocumentDescribesExactlyEveryPathAndMethodOfTheContract() throws {
        let paths = try #require(document.root["paths"]?.objectValue)
        #expect(Set(paths.keys) == Set(Self.contract.keys))
        for (path, expected) in Self.contract {
            let methods = Set(paths[path]?.objectValue?.keys.filter(Self.methods.contains) ?? [])
            #expect(methods == expected, "\(path)")
        }
    }

    @Test func everyReferenceResolves() {
        var references: [String] = []
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let object):
                for (key, member) in object {
                    if key == "$ref", let target = member.stringValue {
                        references.append(target)
                    } else {
                        collect(member)
                    }
                }
            case .array(let elements): elements.forEach(collect)
            default: break
            }
        }
        collect(document.root)
        #expect(references.count > 50)
        for reference in references {
            #expect(document.pointer(reference) != nil, "\(reference) does not resolve")
        }
    }

    @Test func everyOperationHasAUniqueIDAndListsItsErrorsAsProblemJSON() {
        var ids: [String] = []
        for (path, method, operation) in document.operations {
            ids.append(operation["operationId"]?.stringValue ?? "")
            let responses = operation["responses"]?.objectValue ?? [:]
            let errors = responses.keys.filter { $0 == "default" || $0.hasPrefix("4") || $0.hasPrefix("5") }
            #expect(!errors.isEmpty, "\(method) \(path) lists no error response")
            // A form post's success is a redirect (303), as `POST /logout` answers.
            #expect(responses.keys.contains { $0.hasPrefix("2") || $0 == "303" }, "\(method) \(path) lists no success")
            for code in errors {
                let response = document.resolve(responses[code] ?? .null)
                #expect(
                    response["content"]?["application/problem+json"]?["schema"]?["$ref"]?.stringValue
                        == "#/components/schemas/Problem",
                    "\(method) \(path) \(code) is not problem+json")
            }
        }
        #expect(!ids.contains(""))
        #expect(Set(ids).count == ids.count, "duplicate operationId")
    }

    @Test func operationsListTheStatusesHeadersAndParametersOfTheContract() throws {
        let expected: [(String, String, Set<String>)] = [
            ("/v1/jobs", "post", ["200", "202", "400", "401", "409", "411", "413", "422", "429", "503"]),
            ("/v1/jobs", "get", ["200", "400", "401"]),
            ("/v1/jobs/{id}", "get", ["200", "404"]),
            ("/v1/jobs/{id}", "delete", ["204", "404", "409"]),
            ("/v1/jobs/{id}/cancel", "post", ["202", "404", "409"]),
            ("/v1/jobs/{id}/history", "get", ["200", "400", "404"]),
            ("/v1/jobs/{id}/result", "get", ["200", "404", "409"]),
            ("/v1/jobs/{id}/schedule", "get", ["200", "404", "409", "422"]),
            ("/v1/jobs/{id}/events", "get", ["200", "404"]),
            ("/v1/jobs/{id}/plots/{name}.svg", "get", ["200", "404"]),
            ("/v1/datasets", "post", ["201", "400", "411", "413", "422"]),
            ("/v1/datasets/{id}", "get", ["200", "404"]),
            ("/v1/datasets/{id}", "delete", ["204", "404", "409"]),
            ("/v1/datasets/{id}/data", "get", ["200", "404"]),
            ("/readyz", "get", ["200", "503"]),
        ]
        for (path, method, codes) in expected {
            let responses = try #require(document.root["paths"]?[path]?[method]?["responses"]?.objectValue)
            #expect(codes.isSubset(of: Set(responses.keys)), "\(method) \(path): \(codes.subtracting(responses.keys))")
        }
        let allErrorCodes = Set(document.operations.flatMap { $0.2["responses"]?.objectValue?.keys ?? [] })
        #expect(Set(["400", "401", "404", "409", "411", "413", "422", "429", "503"]).isSubset(of: allErrorCodes))

        let create = try #require(document.root["paths"]?["/v1/jobs"]?["post"])
        #expect(document.resolve(create["responses"]?["202"] ?? .null)["headers"]?["Location"] != nil)
        #expect(document.resolve(create["responses"]?["429"] ?? .null)["headers"]?["Retry-After"] != nil)
        #expect(document.resolve(create["responses"]?["503"] ?? .null)["headers"]?["Retry-After"] != nil)
        // A tuning job's spec, or (`"kind": "weight_sharing"`) the weight-sharing experiment's.
        #expect(
            create["requestBody"]?["content"]?["application/json"]?["schema"]?["oneOf"]?.arrayValue?.compactMap {
                $0["$ref"]?.stringValue
            } == ["#/components/schemas/JobSpec", "#/components/schemas/WeightSharingSpec"])
        #expect(document.parameters(of: "/v1/jobs", "post") == ["header Idempotency-Key"])
        #expect(
            document.parameters(of: "/v1/jobs", "get") == [
                "query status", "query limit", "query page_token", "query view",
            ])
        #expect(document.parameters(of: "/v1/jobs/{id}/history", "get") == ["path id", "query after", "query limit"])
        #expect(
            document.parameters(of: "/v1/jobs/{id}/events", "get") == [
                "path id", "header Last-Event-ID", "query last_event_id",
            ])
        #expect(document.parameters(of: "/v1/jobs/{id}/plots/{name}.svg", "get") == ["path id", "path name"])
        #expect(document.parameters(of: "/v1/datasets", "post") == ["query name", "query shape", "query format"])

        func content(_ path: String, _ method: String, _ code: String) -> Set<String> {
            Set(document.root["paths"]?[path]?[method]?["responses"]?[code]?["content"]?.objectValue?.keys ?? [])
        }
        #expect(content("/v1/jobs/{id}/events", "get", "200") == ["text/event-stream"])
        #expect(content("/v1/jobs/{id}/plots/{name}.svg", "get", "200") == ["image/svg+xml"])
        #expect(content("/", "get", "200") == ["text/html"])
        #expect(content("/jobs/{id}", "get", "200") == ["text/html"])
        #expect(content("/metrics", "get", "200").first?.hasPrefix("text/plain") == true)
        let upload = document.root["paths"]?["/v1/datasets"]?["post"]?["requestBody"]?["content"]?.objectValue
        #expect(
            upload?.keys == ["text/csv", "application/x-npz", "application/octet-stream", "multipart/form-data"])
    }

    @Test(arguments: [
        #"{"dataset": {"name": "digits"}}"#,
        #"{"dataset": {"id": "ds_1"}, "hyperparameters": {"learning_rate": {"schedule": {"segments": 4}, "init": [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2], [3, 3, 3, 3, 3, 3]]}, "l2": {"per": "global", "init": [0.01]}}}"#,
        #"{"dataset": {"name": "digits"}, "model": {"hidden": []}, "hyperparameters": {"momentum": {"schedule": "constant", "per_block": false}, "training_data": {"learn": true}}}"#,
        #"{"dataset": {"path": "my.csv"}, "split": {"train": 0.6, "validation": 0.2, "test": 0.2, "shuffle": true}, "preprocess": {"standardize": true, "mean": [0], "std": [1]}, "meta": {"seeds": 4, "guard": false, "patience": 5}}"#,
        #"{"dataset": {"name": "digits"}, "training": {"optimizer": "adam"}, "hyperparameters": {"beta2": {"schedule": "constant"}, "weight_decay": {"init": [0.1, 0.2, 0.3], "per": "block"}}}"#,
    ])
    func jobSpecSchemaPropertiesEqualTheNormalisedSpecKeys(_ submitted: String) throws {
        // As jobs report it: the split resolved to row counts.
        let spec = try JobSpec.parse(JSONValue.parse(submitted)).get().resolved(
            for: DatasetInfo(rows: 1797, features: 64, classes: 10))
        let mismatches = document.keyMismatches(spec.json(), document.schema("JobSpec"), at: "")
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func jobSpecSchemaDefaultsAreTheParsersDefaults() throws {
        let normalised = try JobSpec.parse(JSONValue.parse(#"{"dataset": {"name": "digits"}}"#)).get().json()
        var checked = 0
        func walk(_ value: JSONValue, _ schema: JSONValue, _ path: String) {
            let schema = document.resolve(schema)
            if case .object(let object) = value, let properties = schema["properties"]?.objectValue {
                for (key, member) in object {
                    guard let property = properties[key] else { continue }  // key mismatches are another test's
                    walk(member, property, path + "/" + key)
                }
                return
            }
            // A leaf field (a value, or an array of values) must document its default.
            guard !["/name", "/dataset"].contains(path) else { return }  // no static default; required
            #expect(
                schema["default"] == value,
                "\(path): schema default \(String(describing: schema["default"])), parser \(value)")
            checked += 1
        }
        walk(normalised, document.schema("JobSpec"), "")
        #expect(checked == 34)
    }

    @Test func jobSpecSchemaLimitsAndChoicesAreTheParsers() throws {
        let spec = document.schema("JobSpec")
        func property(_ path: String) -> JSONValue {
            path.split(separator: "/").reduce(spec) { schema, key in
                document.resolve(schema["properties"]?[String(key)] ?? .null)
            }
        }
        func range(_ path: String) -> ClosedRange<Int>? {
            let schema = property(path)
            guard let low = schema["minimum"]?.intValue, let high = schema["maximum"]?.intValue else { return nil }
            return low...high
        }
        typealias Limits = JobSpec.Limits
        let splitRows = document.schema("SplitPart")["oneOf"]?.arrayValue?.first
        #expect(splitRows?["maximum"]?.intValue == Limits.splitRows.upperBound)
        #expect(range("meta/seeds") == Limits.seeds)
        #expect(range("meta/patience") == Limits.patience)
        #expect(range("training/iterations") == Limits.iterations)
        #expect(range("training/batch_size") == Limits.batchSize)
        #expect(range("training/seed") == Limits.seed)
        #expect(range("meta/iterations") == Limits.metaIterations)
        #expect(property("name")["maxLength"]?.intValue == Limits.nameLength)
        #expect(property("model/hidden")["maxItems"]?.intValue == Limits.hiddenLayers)
        let width = document.resolve(property("model/hidden")["items"] ?? .null)
        #expect(width["minimum"]?.intValue == Limits.layerWidth.lowerBound)
        #expect(width["maximum"]?.intValue == Limits.layerWidth.upperBound)
        let segments = document.resolve(document.schema("Schedule")["oneOf"]?[1] ?? .null)["properties"]?["segments"]
        #expect(segments?["maximum"]?.intValue == Limits.iterations.upperBound)
        let datasets = property("dataset")["oneOf"]?.arrayValue ?? []
        #expect(
            datasets.first?["properties"]?["name"]?["enum"]
                == JSONValue.array(BuiltinDatasets.names.map(JSONValue.string)))
        #expect(
            datasets.first { $0["properties"]?["id"] != nil }?["properties"]?["id"]?["maxLength"]?.intValue
                == Limits.datasetKey)
        #expect(
            datasets.first { $0["properties"]?["path"] != nil }?["properties"]?["path"]?["maxLength"]?.intValue
                == Limits.pathLength)

        func expectBounds(_ schema: JSONValue, _ bounds: JobSpec.Bounds, _ name: String) {
            let lowerKey = bounds.lowerInclusive ? "minimum" : "exclusiveMinimum"
            let upperKey = bounds.upperInclusive ? "maximum" : "exclusiveMaximum"
            #expect(schema[lowerKey]?.doubleValue == bounds.lower, "\(name) \(lowerKey)")
            #expect(schema[upperKey]?.doubleValue == bounds.upper, "\(name) \(upperKey)")
        }
        expectBounds(document.schema("LearningRateValue"), Limits.learningRate, "learning rate")
        expectBounds(document.schema("MomentumValue"), Limits.momentum, "momentum")
        expectBounds(document.schema("L2Value"), Limits.l2, "l2")
        expectBounds(document.schema("InitScaleValue"), Limits.initScale, "init scale")
        expectBounds(property("meta/step_size"), Limits.stepSize, "step size")

        func choices(_ path: String) -> [String] { property(path)["enum"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        #expect(choices("model/activation") == Activation.allCases.map(\.rawValue))
        #expect(choices("training/batches") == JobSpec.BatchOrder.allCases.map(\.rawValue))
        #expect(choices("hyperparameters/l2/per") == JobSpec.L2Granularity.allCases.map(\.rawValue))
        #expect(choices("hyperparameters/init_scale/per") == JobSpec.InitScaleGranularity.allCases.map(\.rawValue))
        #expect(choices("meta/optimizer") == MetaOptimizer.Kind.allCases.map(\.rawValue))
        #expect(choices("meta/objective") == JobSpec.Objective.allCases.map(\.rawValue))
        let statuses = document.schema("JobStatus")["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(statuses == JobStatus.allCases.map(\.rawValue))
    }

    @Test func responseSchemasNameTheFieldsTheCodeWrites() {
        let values = HyperparameterValues(
            learningRate: [[0.1]], momentum: [[0.9]], l2: [1e-4], initScale: [0.1], trainingData: [[0.5]])
        var item = HistoryItem(
            metaIteration: 0, trainingLoss: 0.4, validationLoss: 0.5, validationError: 0.1,
            hyperparameters: values, hypergradient: values, seconds: 0.8)
        item.testLoss = 0.6
        item.testError = 0.2
        item.spread = HistoryItem.Spread(trainingLoss: 0.01, validationLoss: 0.02, testLoss: 0.03)
        item.step = .rejected
        item.stepReason = "the objective rose"
        item.firstConvFilters = HistoryItem.ConvFilters(weights: [0.1, 0.2][...], filters: 2, kernel: 1, channels: 1)
        let problem = ProblemDetails.invalidSpec([
            SpecError(field: "/training/iterations", message: "must be between 1 and 100000")
        ])
        let cases: [(JSONValue, String)] = [
            (item.json(numericFingerprint: "x86_64"), "HistoryItem"), (problem.json(), "Problem"),
        ]
        for (value, name) in cases {
            let mismatches = document.keyMismatches(value, document.schema(name), at: name)
            #expect(mismatches.isEmpty, "\(mismatches)")
        }
    }

    /// `scripts/validate-openapi.sh` sets REWIND_OPENAPI_OUT to get the document as a file.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["REWIND_OPENAPI_OUT"] != nil))
    func writesTheDocumentWhereTheValidationScriptAsks() throws {
        let path = try #require(ProcessInfo.processInfo.environment["REWIND_OPENAPI_OUT"])
        try OpenAPIDocument.json.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == OpenAPIDocument.json)
    }
}

/// The parsed document with the lookups the tests need: JSON Pointer references, operations, and
/// a key-set comparison of a JSON value against a schema.
struct OpenAPITestDocument {
    let root: JSONValue

    /// The value a local reference (`#/components/...`) points to, with RFC 6901 unescaping.
    func pointer(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var value: JSONValue? = root
        for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            value = value?[String(token).replacing("~1", with: "/").replacing("~0", with: "~")]
        }
        return value
    }

    /// Follows `$ref` until a value that is not a reference. Members beside a `$ref` (OpenAPI
    /// 3.1) apply with the target: they are merged into it, member by member, theirs winning.
    func resolve(_ value: JSONValue) -> JSONValue {
        var current = value
        while let reference = current["$ref"]?.stringValue, let target = pointer(reference) {
            guard case .object(var siblings) = current else { break }
            siblings["$ref"] = nil
            current = Self.merge(target, siblings)
        }
        return current
    }

    /// `base` with `overrides`' members, objects merged recursively.
    static func merge(_ base: JSONValue, _ overrides: JSONObject) -> JSONValue {
        guard case .object(var merged) = base else { return base }
        for (key, value) in overrides {
            if case .object(let inner) = value, let existing = merged[key], existing.objectValue != nil {
                merged[key] = merge(existing, inner)
            } else {
                merged[key] = value
            }
        }
        return .object(merged)
    }

    func schema(_ name: String) -> JSONValue {
        root["components"]?["schemas"]?[name] ?? .null
    }

    /// Every (path, method, operation) of the document.
    var operations: [(String, String, JSONValue)] {
        (root["paths"]?.objectValue ?? [:]).flatMap { path, item in
            (item.objectValue ?? [:]).filter { OpenAPIDocumentTests.methods.contains($0.key) }.map {
                (path, $0.key, $0.value)
            }
        }
    }

    /// "in name" of each parameter of an operation, path-level ones first, in order.
    func parameters(of path: String, _ method: String) -> [String] {
        let item = root["paths"]?[path]
        let all = (item?["parameters"]?.arrayValue ?? []) + (item?[method]?["parameters"]?.arrayValue ?? [])
        return all.map(resolve).map { "\($0["in"]?.stringValue ?? "?") \($0["name"]?.stringValue ?? "?")" }
    }

    /// Where `value`'s object keys differ from the properties `schema` declares, recursively;
    /// empty when every object in the value has exactly its schema's properties. For `oneOf`, the
    /// value must match one alternative of its JSON type.
    func keyMismatches(_ value: JSONValue, _ schema: JSONValue, at path: String) -> [String] {
        let schema = resolve(schema)
        if let alternatives = (schema["oneOf"] ?? schema["anyOf"])?.arrayValue {
            let candidates = alternatives.map(resolve).filter { accepts($0, value) }
            if candidates.contains(where: { keyMismatches(value, $0, at: path).isEmpty }) { return [] }
            return ["\(path): matches no alternative of \(candidates.count) of its type"]
        }
        switch value {
        case .object(let object):
            guard let properties = schema["properties"]?.objectValue else {
                return ["\(path): schema has no properties"]
            }
            var problems: [String] = []
            // Members of one optimiser's groups (`x-optimizer`) appear only in its jobs, those of one
            // job kind (`x-kind`) only in its.
            let optional = Set(
                properties.filter { resolve($0.value)["x-optimizer"] != nil || resolve($0.value)["x-kind"] != nil }
                    .map(\.key))
            if !Set(object.keys).isSubset(of: Set(properties.keys))
                || !Set(properties.keys).subtracting(optional).isSubset(of: Set(object.keys))
            {
                problems.append("\(path): value has \(object.keys.sorted()), schema \(properties.keys.sorted())")
            }
            for (key, member) in object {
                if let property = properties[key] { problems += keyMismatches(member, property, at: path + "/" + key) }
            }
            return problems
        case .array(let elements):
            guard let items = schema["items"] else { return [] }
            return elements.enumerated().flatMap { keyMismatches($1, items, at: "\(path)/\($0)") }
        default:
            return []
        }
    }

    /// Whether a schema's `type` admits the value's JSON type (no `type` admits anything).
    private func accepts(_ schema: JSONValue, _ value: JSONValue) -> Bool {
        let types: [String]
        switch schema["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.stringValue)
        default: return true
        }
        return switch value {
        case .null: types.contains("null")
        case .bool: types.contains("boolean")
        case .number(let number): types.contains("number") || (types.contains("integer") && number == number.rounded())
        case .string: types.contains("string")
        case .array: types.contains("array")
        case .object: types.contains("object")
        }
    }
}

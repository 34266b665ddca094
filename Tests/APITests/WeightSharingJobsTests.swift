import API
import JSON
import RewindTestSupport
import Storage
import Testing
import Tuning

/// The weight-sharing experiment submitted as a job over real sockets: on both engines it runs to
/// the same history, its result carries the learned T_l and its page draws them as heat maps.
@Suite("Weight-sharing jobs through the service")
struct WeightSharingJobsTests {
    static let spec = #"""
        {"kind": "weight_sharing", "name": "tiny sharing", "dataset": {"name": "omniglot"},
         "model": {"hidden": [8], "sharing": {"tasks": "alphabets", "alphabets": 3}},
         "training": {"iterations": 4}, "meta": {"iterations": 2}}
        """#

    @Test func aSharingJobReturnsItsLearnedTransformsAndDrawsThemOnBothEngines() throws {
        var histories: [[JSONValue]] = []
        let engines: [StoreEngine] = PostgresCluster.isAvailable ? [.sqlite, .postgresql] : [.sqlite]
        for engine in engines {
            let service = try TestService(engine: engine)
            defer { service.stop() }
            let session = APISession(service)
            let id = try session.submit(Self.spec)
            let done = try session.waitForStatus(id, "succeeded", timeout: .seconds(120))
            #expect(done["progress"]?["done"]?.intValue == 3 && done["progress"]?["total"]?.intValue == 3)
            // The spec round-trips through storage with its kind and every default.
            let spec = try session.get("/v1/jobs/\(id)").json["spec"] ?? .null
            #expect(spec["kind"] == "weight_sharing" && spec["model"]?["sharing"]?["layers"] == [1, 2])
            #expect(try session.get("/v1/jobs/\(id)").json["dataset"]?["name"] == "omniglot")

            let result = try session.get("/v1/jobs/\(id)/result").json
            let final = try #require(result["final"])
            let transforms = try #require(final["hyperparameters"]?["transforms"]?.arrayValue)
            #expect(transforms.count == 2)
            for layer in transforms {
                let rows = layer.arrayValue ?? []
                #expect(rows.count == 3 && rows.allSatisfy { $0.doubleArrayValue?.count == 3 })
            }
            #expect(final["sharing"]?["tasks"] == ["Balinese", "Early_Aramaic", "Greek"])
            #expect(final["sharing"]?["test_errors"]?.doubleArrayValue?.count == 3)
            #expect(final["hypergradient"] == .null)
            let history = try session.history(id)
            #expect(history.count == 3)
            #expect(history.first?["hypergradient"]?["transforms"]?.arrayValue?.count == 2)
            #expect(history.first?["hyperparameters"]?["transforms"] != final["hyperparameters"]?["transforms"])

            // The job page shows both heat maps, one grid per layer (two here, three at the paper's depth).
            let page = try session.get("/jobs/\(id)").text
            for name in ["transforms", "sharing"] {
                #expect(page.contains("/v1/jobs/\(id)/plots/\(name).svg"), "\(name)")
                let plot = try session.get("/v1/jobs/\(id)/plots/\(name).svg")
                #expect(plot.status == 200 && plot.header("Content-Type")?.hasPrefix("image/svg+xml") == true)
                #expect(plot.text.contains(">T1 (layer 1)<") && plot.text.contains(">T2 (layer 2)<"), "\(name)")
                #expect(plot.text.contains("Early_Aramaic"))
            }
            #expect(try session.get("/v1/jobs/\(id)/plots/learning_rate.svg").status == 404)
            // Nothing to export as a schedule: what it learned is the T_l.
            let schedule = try session.get("/v1/jobs/\(id)/schedule")
            schedule.expectProblem(409)
            histories.append(
                history.map { item in
                    guard case .object(var object) = item else { return item }
                    object["seconds"] = nil
                    object["numeric_fingerprint"] = nil
                    return .object(object)
                })
        }
        if histories.count == 2 { #expect(histories[0] == histories[1], "SQLite and PostgreSQL agree bit for bit") }
    }

    @Test func aBadSharingSpecIsA422NamingItsFieldsAndCreatesNothing() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let response = try session.post(
            "/v1/jobs",
            json: #"{"kind": "weight_sharing", "model": {"hidden": [8], "sharing": {"alphabets": 6, "layers": [3]}}}"#)
        response.expectProblem(422)
        let fields = response.json["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields == ["/model/sharing/alphabets", "/model/sharing/layers/0"], "\(fields)")
        let kind = try session.post("/v1/jobs", json: #"{"kind": "distill", "dataset": {"name": "digits"}}"#)
        kind.expectProblem(422)
        #expect(kind.json["errors"]?.arrayValue?.first?["field"] == "/kind")
        // The paper's size needs more than the default job memory budget of 1 GiB.
        let paper = try session.post(
            "/v1/jobs", json: #"{"kind": "weight_sharing", "model": {"hidden": [400, 200]}}"#)
        paper.expectProblem(422)
        #expect(paper.json["type"]?.stringValue?.hasSuffix("over-memory-budget") == true)
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true, "no job was created")
    }

    @Test func theOpenAPIDocumentDescribesTheSpecAndItemsAsTheCodeWritesThem() throws {
        let document = OpenAPITestDocument(root: try JSONValue.parse(OpenAPIDocument.json))
        let schema = document.schema("WeightSharingSpec")
        let settings = WeightSharingSettings()
        #expect(document.keyMismatches(settings.json(), schema, at: "").isEmpty)
        // Every default the schema documents is the parser's.
        func walk(_ value: JSONValue, _ schema: JSONValue, _ path: String) {
            let schema = document.resolve(schema)
            if case .object(let object) = value, let properties = schema["properties"]?.objectValue {
                for (key, member) in object { walk(member, properties[key] ?? .null, path + "/" + key) }
                return
            }
            guard path != "/kind" else { return }
            #expect(schema["default"] == value, "\(path)")
        }
        walk(settings.json(), schema, "")
        let body = document.root["paths"]?["/v1/jobs"]?["post"]?["requestBody"]?["content"]?["application/json"]
        #expect(body?["schema"]?["oneOf"]?.arrayValue?.count == 2)

        // A sharing job's items, meta-iteration and final, as the service writes them.
        var run = WeightSharingSettings()
        run.alphabets = 1
        run.hidden = [3]
        run.iterations = 2
        run.metaIterations = 1
        let job = WeightSharingRun(settings: run)
        let (first, next) = try job.step(job.initialCheckpoint())
        let (last, _) = try job.step(next)
        // Every member the items write is one the schema names (of the alternative that fits).
        func unknown(_ value: JSONValue, _ schema: JSONValue, _ path: String) -> [String] {
            let schema = document.resolve(schema)
            if let alternatives = schema["oneOf"]?.arrayValue {
                let found = alternatives.map { unknown(value, $0, path) }
                return found.contains { $0.isEmpty } ? [] : found.first ?? []
            }
            switch value {
            case .object(let object):
                let properties = schema["properties"]?.objectValue ?? [:]
                return object.flatMap { key, member in
                    properties[key].map { unknown(member, $0, path + "/" + key) } ?? [path + "/" + key]
                }
            case .array(let elements):
                return elements.enumerated().flatMap { unknown($1, schema["items"] ?? .null, "\(path)/\($0)") }
            default:
                return []
            }
        }
        for item in [first, last] {
            let json = item.json(numericFingerprint: "x86_64")
            #expect(
                unknown(json, document.schema("HistoryItem"), "").isEmpty,
                "\(unknown(json, document.schema("HistoryItem"), ""))")
            let sharing = document.resolve(document.schema("HistoryItem")["properties"]?["sharing"] ?? .null)
            #expect(document.keyMismatches(json["sharing"] ?? .null, sharing, at: "sharing").isEmpty)
        }
    }
}

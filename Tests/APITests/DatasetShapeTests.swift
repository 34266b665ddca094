import Foundation
import JSON
import RewindTestSupport
import Testing
import Tuning

@testable import API

/// Data sets carry a shape: `[features]` for a table, `[height, width, channels]` for images;
/// an image upload trains conv layers.
@Suite("Data set shapes")
struct DatasetShapeTests {
    /// 30 images of 4×4×1 in 3 classes: class c is bright in column c.
    static let images: [UInt8] = {
        var text = ""
        for row in 0..<30 {
            let label = row % 3
            var pixels: [String] = []
            for y in 0..<4 {
                for x in 0..<4 {
                    let bright = x == label ? 0.8 : 0.1
                    pixels.append(String(bright + Double((row * 7 + y * 3 + x) % 5) * 0.01))
                }
            }
            text += pixels.joined(separator: ",") + ",\(label)\n"
        }
        return Array(text.utf8)
    }()

    static let convSpec = """
        {"dataset":{"name":"tiles"},"split":{"train":20,"validation":10},
         "model":{"layers":[{"type":"conv2d","filters":2,"kernel":3,"padding":"same"},{"type":"tanh"},
                            {"type":"avgpool","size":2}]},
         "training":{"iterations":4,"batch_size":5,"seed":1},"meta":{"iterations":2}}
        """

    func upload(_ session: APISession, _ query: String, _ body: [UInt8]) throws -> HTTPTestResponse {
        try session.request("POST", "/v1/datasets?\(query)", headers: [("Content-Type", "text/csv")], body: body)
    }

    @Test func builtInDigitsAreEightByEightByOneAndATableIsItsFeatureCount() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        #expect(try session.get("/v1/datasets/digits").json["shape"] == JSONValue([8.0, 8, 1]))
        let table = try upload(session, "name=blobs", DatasetTests.csv)
        #expect(table.status == 201, "\(table.text)")
        #expect(table.json["shape"] == JSONValue([2.0]))
        let listed = try session.get("/v1/datasets").json["datasets"]?.arrayValue ?? []
        #expect(listed.map { $0["shape"] } == [JSONValue([8.0, 8, 1]), JSONValue([28.0, 28, 1]), JSONValue([2.0])])
    }

    @Test func aCSVDeclaresItsImageShapeAndAConvJobTrainsOnIt() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let created = try upload(session, "name=tiles&shape=4,4,1", Self.images)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json["shape"] == JSONValue([4.0, 4, 1]))
        let id = try #require(created.json["id"]?.stringValue)
        #expect(try session.get("/v1/datasets/\(id)").json["shape"] == JSONValue([4.0, 4, 1]))
        let listed = try session.get("/v1/datasets").json["datasets"]?.arrayValue ?? []
        #expect(listed.last?["shape"] == JSONValue([4.0, 4, 1]))

        let job = try session.submit(Self.convSpec)
        let done = try session.waitForStatus(job, "succeeded", timeout: .seconds(120))
        #expect(done["spec"]?["dataset"]?["id"]?.stringValue == id)
        #expect(!(try session.history(job)).isEmpty)
    }

    @Test func convLayersOnATableAreRefusedAtSubmission() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        #expect(try upload(session, "name=tiles", Self.images).status == 201)
        let refused = try session.post("/v1/jobs", json: Self.convSpec)
        refused.expectProblem(422)
        #expect(
            refused.json["errors"]?[0]?["field"]?.stringValue?.hasPrefix("/model/layers") == true, "\(refused.text)")
    }

    @Test func aShapeThatDoesNotHoldTheRowIsA422NamingShapeAndStoresNothing() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        for query in ["shape=3,3,1", "shape=17", "shape=4,4", "shape=a,b,c", "shape=0,4,4", "shape=4,,4"] {
            let refused = try upload(session, "name=tiles&\(query)", Self.images)
            refused.expectProblem(422)
            #expect(refused.json["errors"]?[0]?["field"]?.stringValue == "?shape", "\(query): \(refused.text)")
        }
        #expect(try session.get("/v1/datasets").json["datasets"]?.arrayValue?.count == BuiltinDatasets.names.count)
        // The feature count itself is a table's shape.
        let table = try upload(session, "name=tiles&shape=16", Self.images)
        #expect(table.status == 201 && table.json["shape"] == JSONValue([16.0]), "\(table.text)")
    }
}

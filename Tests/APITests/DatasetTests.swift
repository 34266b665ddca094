import Foundation
import JSON
import RewindTestSupport
import Testing

/// `/v1/datasets`: uploads, listing with built-ins, jobs on uploads, deletion rules.
@Suite("Data sets over HTTP")
struct DatasetTests {
    /// 30 rows of two features and a class label in {0, 1, 2}, with a header row.
    static let csv: [UInt8] = {
        var text = "x,y,label\n"
        for row in 0..<30 {
            let x = Double(row % 7) / 7
            let y = Double((row * 5) % 11) / 11
            text += "\(x),\(y),\(row % 3)\n"
        }
        return Array(text.utf8)
    }()

    func upload(_ session: APISession, name: String, body: [UInt8] = DatasetTests.csv) throws -> HTTPTestResponse {
        try session.request("POST", "/v1/datasets?name=\(name)", headers: [("Content-Type", "text/csv")], body: body)
    }

    @Test func uploadedCSVAnswers201WithItsShapeAndIsListedBesideTheBuiltInDigits() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)

        let created = try upload(session, name: "toy")
        #expect(created.status == 201, "\(created.text)")
        let dataset = created.json
        let id = try #require(dataset["id"]?.stringValue)
        #expect(dataset["name"]?.stringValue == "toy")
        #expect(dataset["rows"]?.intValue == 30)
        #expect(dataset["features"]?.intValue == 2)
        #expect(dataset["classes"]?.intValue == 3)
        #expect(dataset["sha256"]?.stringValue?.count == 64)
        #expect(dataset["created_at"]?.stringValue?.hasSuffix("Z") == true)
        #expect(dataset["builtin"]?.boolValue == false)

        let listed = try session.get("/v1/datasets")
        #expect(listed.status == 200)
        let all = listed.json["datasets"]?.arrayValue ?? []
        let digits = try #require(all.first { $0["name"]?.stringValue == "digits" })
        #expect(digits["builtin"]?.boolValue == true)
        #expect(digits["rows"]?.intValue == 1797)
        #expect(digits["features"]?.intValue == 64)
        #expect(digits["classes"]?.intValue == 10)
        #expect(all.contains { $0["id"]?.stringValue == id })

        let fetched = try session.get("/v1/datasets/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.json == dataset)
        #expect(try session.get("/v1/datasets/digits").json["builtin"]?.boolValue == true)
        try session.get("/v1/datasets/no-such-set").expectProblem(404)
    }

    @Test func jobOnAnUploadedDataSetRunsToSuccess() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try #require(try upload(session, name: "toy").json["id"]?.stringValue)

        let job = try session.submit(TestSpecs.onDataset(id, train: 20, validation: 10))
        let done = try session.waitForJob(job, "a terminal status") {
            ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
        }
        #expect(done["status"]?.stringValue == "succeeded", "\(done.serializedString())")
        #expect(try session.history(job).count == 3)

        // A split larger than the upload names the offending field.
        let tooBig = try session.post("/v1/jobs", json: TestSpecs.onDataset(id, train: 25, validation: 10))
        tooBig.expectProblem(422)
        #expect(!tooBig.problemFields.isEmpty)
        let unknown = try session.post("/v1/jobs", json: TestSpecs.onDataset("missing", train: 2, validation: 2))
        unknown.expectProblem(422)
        #expect(unknown.problemFields == ["/dataset/id"], "\(unknown.text)")
    }

    @Test func deletingADataSetIsRefusedWhileAQueuedJobUsesIt() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let id = try #require(try upload(session, name: "toy").json["id"]?.stringValue)
        let job = try session.submit(TestSpecs.onDataset(id, train: 20, validation: 10))

        try session.delete("/v1/datasets/\(id)").expectProblem(409)
        #expect(try session.get("/v1/datasets/\(id)").status == 200)

        #expect(try session.post("/v1/jobs/\(job)/cancel", json: "").status == 202)
        #expect(try session.delete("/v1/datasets/\(id)").status == 204)
        try session.get("/v1/datasets/\(id)").expectProblem(404)
        try session.delete("/v1/datasets/\(id)").expectProblem(404)
        try session.delete("/v1/datasets/digits").expectProblem(409)
    }

    @Test func malformedCSVAnswers422WithTheLineAndColumn() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let bad = Array("1,2,0\n3,4,1\n5,oops,0\n".utf8)

        let response = try upload(session, name: "bad", body: bad)
        response.expectProblem(422)
        #expect(response.json["line"]?.intValue == 3)
        #expect(response.json["column"]?.intValue == 2)
        #expect(response.problemFields == ["/body"])

        try upload(session, name: "", body: DatasetTests.csv).expectProblem(422)
        try session.request("POST", "/v1/datasets", body: DatasetTests.csv).expectProblem(422)
    }

    @Test func uploadOverTheConfiguredLimitAnswers413() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        var big = Array("a,b,label\n".utf8)
        while big.count <= TestService.defaultAPIConfiguration.datasetBodyLimit {
            big += Array("0.25,0.75,1\n0.5,0.125,0\n".utf8)
        }
        try upload(session, name: "big", body: big).expectProblem(413)
        // Only the built-ins, digits and mnist.
        #expect(try session.get("/v1/datasets").json["datasets"]?.arrayValue?.count == 2)
    }
}

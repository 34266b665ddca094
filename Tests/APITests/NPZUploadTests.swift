import Foundation
import JSON
import RewindTestSupport
import Testing
import Tuning

@testable import API

/// `.npz` uploads as `numpy.savez` and `numpy.savez_compressed` write them: raw, with `?format=npz`
/// and as a form's `*.npz` file; every archive it cannot take is a 422 that stores nothing.
@Suite("Uploading .npz archives")
struct NPZUploadTests {
    /// The archives of scripts/make-npz-fixtures.py: written by this machine's numpy when it is
    /// importable, else the committed copies.
    static let archives: String = {
        let repository = LearnedScheduleTests.repository
        let scratch = NSTemporaryDirectory() + "rewind-npz-\(getpid())"
        if let run = try? CommandLineRun.run(
            "python3", ["\(repository)/scripts/make-npz-fixtures.py", scratch], timeout: .seconds(60)),
            run.status == 0
        {
            return scratch
        }
        return "\(repository)/Tests/Fixtures/npz"
    }()

    static func archive(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(archives)/\(name)")))
    }

    func post(
        _ session: APISession, _ target: String, _ contentType: String, _ body: [UInt8]
    ) throws
        -> HTTPTestResponse
    {
        try session.request("POST", target, headers: [("Content-Type", contentType)], body: body)
    }

    @Test func aSavezTableHoldsTheSameNumbersAsItsCSV() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let npz = try post(session, "/v1/datasets?name=table", "application/x-npz", try Self.archive("table.npz"))
        #expect(npz.status == 201, "\(npz.text)")
        #expect(npz.json["rows"]?.intValue == 30 && npz.json["features"]?.intValue == 4)
        #expect(npz.json["classes"]?.intValue == 3 && npz.json["shape"] == JSONValue([4.0]))
        #expect(npz.json["class_counts"] == JSONValue([10.0, 10, 10]))
        let csv = try post(session, "/v1/datasets?name=table-csv", "text/csv", try Self.archive("table.csv"))
        #expect(csv.status == 201, "\(csv.text)")
        let ranges = npz.json["detected"]?["feature_ranges"]
        #expect(ranges != nil && ranges == csv.json["detected"]?["feature_ranges"])
        let id = try #require(npz.json["id"]?.stringValue)
        let stored = try session.get("/v1/datasets/\(id)").json
        #expect(stored["detected"]?["feature_ranges"] == csv.json["detected"]?["feature_ranges"])
        #expect(stored["class_counts"] == JSONValue([10.0, 10, 10]))
    }

    @Test func compressedImagesKeepTheirShapeEveryWayTheyAreSent() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let images = try post(
            session, "/v1/datasets?name=tiles&format=npz", "application/octet-stream", try Self.archive("images.npz"))
        #expect(images.status == 201, "\(images.text)")
        #expect(images.json["shape"] == JSONValue([4.0, 4, 1]) && images.json["features"]?.intValue == 16)
        let form = DatasetUploadTests.form([("file", "tiles4.npz", try Self.archive("images4.npz"))])
        let four = try post(session, "/v1/datasets", "multipart/form-data; boundary=XyZ123", form)
        #expect(four.status == 201, "\(four.text)")
        #expect(four.json["name"]?.stringValue == "tiles4" && four.json["shape"] == JSONValue([4.0, 4, 1]))
        // The same pixels as uint8 and as float32 / 255: same classes, values scaled alike.
        #expect(four.json["class_counts"] == images.json["class_counts"])
        let ranges = four.json["detected"]?["feature_ranges"]?.arrayValue ?? []
        #expect(ranges.count == 16 && ranges.allSatisfy { ($0[1]?.doubleValue ?? 2) <= 1 })

        // Twice: the stored data set answers.
        let again = try post(session, "/v1/datasets?name=tiles", "application/x-npz", try Self.archive("images.npz"))
        #expect(again.status == 200 && again.json["id"] == images.json["id"])
    }

    @Test func everyArchiveItCannotTakeIsA422NamingTheProblemAndStoresNothing() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let good = try Self.archive("images.npz")
        var corrupt = good
        for index in 120..<140 { corrupt[index] ^= 0x5A }
        let cases: [(String, [UInt8], String)] = [
            ("object", try Self.archive("object.npz"), "pickle"),
            ("fortran", try Self.archive("fortran.npz"), "Fortran"),
            ("bigendian", try Self.archive("bigendian.npz"), "big-endian"),
            ("mismatch", try Self.archive("mismatch.npz"), "N must match"),
            ("nan", try Self.archive("nan.npz"), "finite"),
            ("missing_y", try Self.archive("missing_y.npz"), "no y"),
            ("extra", try Self.archive("extra.npz"), "z.npy"),
            ("float_labels", try Self.archive("float_labels.npz"), "integers"),
            ("truncated", Array(good.prefix(good.count / 2)), "truncated"),
            ("corrupt", corrupt, "corrupt"),
            ("not zip", Array("1,2,0\n".utf8), "not a ZIP"),
        ]
        for (name, body, words) in cases {
            let refused = try post(session, "/v1/datasets?name=bad", "application/x-npz", body)
            refused.expectProblem(422)
            #expect(refused.json["errors"]?[0]?["field"]?.stringValue == "/body", "\(name): \(refused.text)")
            let detail = refused.json["detail"]?.stringValue ?? ""
            #expect(detail.contains(words), "\(name): \(detail)")
        }
        try post(session, "/v1/datasets?name=bad&format=tar", "application/x-npz", good).expectProblem(422)
        #expect(try session.get("/v1/datasets").json["datasets"]?.arrayValue?.count == BuiltinDatasets.names.count)
    }

    @Test func theCLIUploadsAnArchiveAndListsItsImageShape() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let scratch = try TemporaryDirectory(prefix: "rewind-cli-npz")
        let file = scratch.file("tiles.npz")
        try Data(try Self.archive("images.npz")).write(to: URL(fileURLWithPath: file))
        let uploaded = try ClientCommandTests.rewind(service, ["datasets", "upload", file])
        #expect(uploaded.status == 0, "\(uploaded.stderr)")
        #expect(uploaded.stderr.contains("tiles: 30 × 4×4×1, 3 classes (10, 10, 10 rows)"), "\(uploaded.stderr)")
        let list = try ClientCommandTests.rewind(service, ["datasets", "list"])
        #expect(list.stdout.contains("1797 × 8×8×1, 10 classes"), "\(list.stdout)")
        #expect(list.stdout.contains("30 × 4×4×1, 3 classes"), "\(list.stdout)")
    }

    @Test func aClientThatDisconnectsMidUploadLeavesNothingStored() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let archive = try Self.archive("images.npz")
        let client = try HTTPTestClient(port: service.port)
        try client.send(
            "POST /v1/datasets?name=cut HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-npz\r\n"
                + "Content-Length: \(archive.count)\r\n\r\n")
        try client.send(Array(archive.prefix(archive.count / 2)))
        client.close()
        // The next request on another connection sees only the built-ins.
        let session = APISession(service)
        #expect(try session.get("/v1/datasets").json["datasets"]?.arrayValue?.count == BuiltinDatasets.names.count)
        let whole = try post(session, "/v1/datasets?name=cut", "application/x-npz", archive)
        #expect(whole.status == 201, "\(whole.text)")
    }

    @Test func anArchiveOverTheUploadLimitIsA413NamingTheSetting() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let big = [UInt8](repeating: 0x50, count: TestService.defaultAPIConfiguration.datasetBodyLimit + 1)
        let refused = try post(APISession(service), "/v1/datasets?name=big", "application/x-npz", big)
        refused.expectProblem(413)
        let detail = refused.json["detail"]?.stringValue ?? ""
        #expect(detail.contains("--max-upload-mb") && detail.contains("REWIND_MAX_UPLOAD_MB"), "\(detail)")
    }
}

/// Shapes and archives on the PostgreSQL engine: stored with the data set, read back by a job.
@Suite(
    "Data set shapes on PostgreSQL",
    .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
struct PostgresDatasetShapeTests {
    @Test func anImageArchiveKeepsItsShapeAndAConvJobTrainsOnIt() throws {
        let service = try TestService(engine: .postgresql)
        defer { service.stop() }
        let session = APISession(service)
        let images = try session.request(
            "POST", "/v1/datasets?name=tiles", headers: [("Content-Type", "application/x-npz")],
            body: try NPZUploadTests.archive("images.npz"))
        #expect(images.status == 201, "\(images.text)")
        let id = try #require(images.json["id"]?.stringValue)
        #expect(try session.get("/v1/datasets/\(id)").json["shape"] == JSONValue([4.0, 4, 1]))
        let csv = try session.request(
            "POST", "/v1/datasets?name=csv-tiles&shape=4,4,1", headers: [("Content-Type", "text/csv")],
            body: DatasetShapeTests.images)
        #expect(csv.status == 201 && csv.json["shape"] == JSONValue([4.0, 4, 1]), "\(csv.text)")
        let job = try session.submit(DatasetShapeTests.convSpec)
        try session.waitForStatus(job, "succeeded", timeout: .seconds(120))
        let refused = try session.request(
            "POST", "/v1/datasets?name=bad", headers: [("Content-Type", "application/x-npz")],
            body: try NPZUploadTests.archive("nan.npz"))
        refused.expectProblem(422)
        #expect(try session.get("/v1/datasets").json["datasets"]?.arrayValue?.count == BuiltinDatasets.names.count + 2)
    }
}

import Foundation
import JSON
import RewindTestSupport
import Testing

@testable import API

/// Uploading one's own data the ways people do: forms, raw bodies, re-uploads, odd labels, and
/// naming the upload in a spec.
@Suite("Uploading data sets")
struct DatasetUploadTests {
    static func form(
        _ fields: [(name: String, filename: String?, content: [UInt8])], boundary: String = "XyZ123"
    ) -> [UInt8] {
        var body: [UInt8] = []
        for field in fields {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field.name)\""
            if let filename = field.filename { head += "; filename=\"\(filename)\"\r\nContent-Type: text/csv" }
            body += Array((head + "\r\n\r\n").utf8) + field.content + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)--\r\n".utf8)
    }

    func post(_ session: APISession, _ target: String, contentType: String, body: [UInt8]) throws -> HTTPTestResponse {
        try session.request("POST", target, headers: [("Content-Type", contentType)], body: body)
    }

    @Test func aFormUploadLikeCurlFTakesItsNameFromTheFileAndReportsTheClasses() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let created = try post(
            session, "/v1/datasets", contentType: "multipart/form-data; boundary=XyZ123",
            body: Self.form([("file", "blobs.csv", DatasetTests.csv)]))
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json["name"]?.stringValue == "blobs")
        #expect(created.json["rows"]?.intValue == 30 && created.json["features"]?.intValue == 2)
        #expect(created.json["class_counts"] == JSONValue([10.0, 10, 10]))

        // The same bytes raw, under another name: the stored set, as it was named first.
        let raw = try post(session, "/v1/datasets?name=other", contentType: "text/csv", body: DatasetTests.csv)
        #expect(raw.status == 200)
        #expect(raw.json["id"] == created.json["id"] && raw.json["name"]?.stringValue == "blobs")

        // A name field wins over the file name.
        var other = DatasetTests.csv
        other += Array("0.5,0.5,1\n".utf8)
        let named = try post(
            session, "/v1/datasets", contentType: "multipart/form-data; boundary=\"b-2\"",
            body: Self.form([("name", nil, Array("moons".utf8)), ("file", "x.csv", other)], boundary: "b-2"))
        #expect(named.status == 201, "\(named.text)")
        #expect(named.json["name"]?.stringValue == "moons")
    }

    @Test func aBodyWithItsNewlinesStrippedSaysHowToSendAFile() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let flattened = String(decoding: DatasetTests.csv, as: UTF8.self).replacingOccurrences(of: "\n", with: "")
        let answer = try post(
            APISession(service), "/v1/datasets?name=flat", contentType: "application/x-www-form-urlencoded",
            body: Array(flattened.utf8))
        answer.expectProblem(422)
        #expect(answer.json["detail"]?.stringValue?.contains("--data-binary") == true, "\(answer.text)")
    }

    @Test func aTakenNameWithOtherContentIsAConflictAndBuiltInNamesAreReserved() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        #expect(
            try post(session, "/v1/datasets?name=blobs", contentType: "text/csv", body: DatasetTests.csv).status == 201)
        let clash = try post(
            session, "/v1/datasets?name=blobs", contentType: "text/csv", body: DatasetTests.csv + Array("0,0,0\n".utf8))
        clash.expectProblem(409)
        #expect(clash.json["detail"]?.stringValue?.contains("already exists") == true)
        try post(session, "/v1/datasets?name=digits", contentType: "text/csv", body: DatasetTests.csv).expectProblem(
            409)
        // The built-ins, digits and mnist, and the one upload.
        #expect(try session.get("/v1/datasets").json["datasets"]?.arrayValue?.count == 3)
    }

    @Test func labelsThatAreNot0ToKMinus1AreRefusedNamingThePresentClasses() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let csv = (0..<12).map { "\(Double($0) / 12),\($0 % 3 + 1)" }.joined(separator: "\n") + "\n"
        let answer = try post(
            APISession(service), "/v1/datasets?name=shifted", contentType: "text/csv", body: Array(csv.utf8))
        answer.expectProblem(422)
        let detail = answer.json["detail"]?.stringValue ?? ""
        #expect(detail.contains("the labels are 1, 2, 3") && detail.contains("class 0 has no rows"), "\(detail)")
    }

    @Test func aSpecNamesAnUploadLikeABuiltInAndTheJobIsCalledAfterIt() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let uploaded = try post(session, "/v1/datasets?name=blobs", contentType: "text/csv", body: DatasetTests.csv)
        let id = try #require(uploaded.json["id"]?.stringValue)
        let byName = try session.submit(
            #"{"dataset":{"name":"blobs"},"split":{"train":20,"validation":10},"model":{"hidden":[4]},"training":{"iterations":5,"batch_size":4}}"#
        )
        let job = try session.job(byName)
        #expect(job["name"]?.stringValue == "blobs schedules")
        #expect(job["spec"]?["dataset"]?["id"]?.stringValue == id)

        let byID = try session.submit(
            TestSpecs.onDataset(id, train: 20, validation: 10).replacingOccurrences(
                of: #""name":"uploaded","#, with: ""))
        #expect(try session.job(byID)["name"]?.stringValue == "blobs schedules")

        let unknown = try session.post("/v1/jobs", json: #"{"dataset":{"name":"nope"}}"#)
        unknown.expectProblem(422)
        let message = unknown.json["errors"]?[0]?["message"]?.stringValue ?? ""
        #expect(message.contains("\"digits\"") && message.contains("\"blobs\""), "\(message)")
    }

    @Test func multipartFramingIsParsedStrictly() throws {
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(MultipartForm.boundary(contentType: "text/csv") == nil)
        let form = try MultipartForm(body: Self.form([("file", "d.csv", Array("1,0\r\n".utf8))]), boundary: "XyZ123")
        #expect(form.parts == [MultipartForm.Part(name: "file", filename: "d.csv", content: Array("1,0\r\n".utf8))])
        #expect(throws: MultipartForm.Malformed.self) {
            try MultipartForm(
                body: Array("--XyZ123\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n1,0".utf8),
                boundary: "XyZ123")
        }
        #expect(throws: MultipartForm.Malformed.self) {
            try MultipartForm(body: Array("1,0\n".utf8), boundary: "XyZ123")
        }
    }
}

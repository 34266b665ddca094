import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// Issue 15, row 7: another tenant's data set id is no oracle. It answers exactly as an id that
/// does not exist, and the owner is checked before any of the data is read, so no error can carry
/// the set's size, shape or classes. Against the real `rewind serve` under an address-space limit.
@Suite("Security: another tenant's data set id", .serialized)
struct DatasetOracleTests {
    static let csv = Array("x,y,label\n0.1,1,0\n0.2,2,1\n0.3,3,2\n0.4,4,1\n".utf8)

    /// Specs whose checks need the data set: too many training rows; a model too large to fit.
    static func specs(_ id: String) -> [String] {
        [
            #"{"dataset":{"id":"\#(id)"},"split":{"train":100000,"validation":1},"meta":{"iterations":1}}"#,
            #"{"dataset":{"id":"\#(id)"},"model":{"hidden":[4096,4096]},"training":{"iterations":100000,"batch_size":1},"meta":{"iterations":1}}"#,
            #"{"dataset":{"id":"\#(id)"},"split":{"train":2,"validation":2},"model":{"hidden":[4]},"training":{"iterations":5,"batch_size":2},"meta":{"iterations":1}}"#,
        ]
    }

    @Test(arguments: RevocationTests.engines)
    func anotherTenantsDataSetIdAnswersExactlyLikeAMissingIdAndRevealsNothing(_ engine: StoreEngine) throws {
        // The real `rewind serve` under the address-space limit, keys made with `rewind keys`.
        let node = try RevocationTests.Node(engine)
        let ownerKey = try node.keys(["create", "owner"])
        let otherKey = try node.keys(["create", "other"])
        let owner = SecuritySession(port: node.port, apiKey: ownerKey)
        let other = SecuritySession(port: node.port, apiKey: otherKey)
        let upload = try owner.request(
            "POST", "/v1/datasets?name=private", headers: [("Content-Type", "text/csv")], body: Self.csv)
        #expect(upload.status == 201)
        let id = try #require(upload.json["id"]?.stringValue)
        // An id of the same shape that was never issued.
        let missing = String(id.reversed())

        for (foreignSpec, missingSpec) in zip(Self.specs(id), Self.specs(missing)) {
            let foreign = try other.postJSON("/v1/jobs", foreignSpec)
            let absent = try other.postJSON("/v1/jobs", missingSpec)
            #expect(foreign.status == 422 && absent.status == 422)
            #expect(foreign.header("Content-Type") == absent.header("Content-Type"))
            // Byte for byte the same document, but for the id itself.
            #expect(
                foreign.text.replacingOccurrences(of: id, with: "ID")
                    == absent.text.replacingOccurrences(of: missing, with: "ID"),
                "\(foreign.text) vs \(absent.text)")
            #expect(foreign.json["errors"]?[0]?["message"]?.stringValue == "no such data set: \(id)")
            for secret in ["row", "feature", "class", "MiB", "4 ", "3 "] {
                #expect(!foreign.text.contains(secret), "\(secret) in \(foreign.text)")
            }
        }
        #expect(try other.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true)

        // The control: the owner's own submissions do reach the data set's checks.
        let tooManyRows = try owner.postJSON("/v1/jobs", Self.specs(id)[0])
        #expect(tooManyRows.status == 422 && tooManyRows.text.contains("4 rows"), "\(tooManyRows.text)")
        let tooLarge = try owner.postJSON("/v1/jobs", Self.specs(id)[1])
        #expect(tooLarge.status == 422 && !tooLarge.text.contains("no such data set"), "\(tooLarge.text)")
        let accepted = try owner.postJSON("/v1/jobs", Self.specs(id)[2])
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect(accepted.json["name"]?.stringValue == "private schedules")
        #expect(accepted.json["spec"]?["dataset"]?["id"]?.stringValue == id)
    }
}

import JSON
import Testing

@Suite("Reading chosen members of a JSON object")
struct JSONMemberReaderTests {
    let document = """
        {"meta_iteration": 3, "note": "braces } ] and \\"quotes\\" inside", "rows": [[1, 2], [3, {"x": "]"}]],
         "hyperparameters": {"l2": [0.5, 0.25], "training_data": [[1, 2, 3]], "learning_rate": [[0.1]]},
         "esc\\u0061ped": true, "empty": {}, "last": null}
        """

    @Test func readsTheMembersAskedForAndSkipsTheRest() throws {
        let reader = JSONMemberReader(paths: [["meta_iteration"], ["hyperparameters", "l2"], ["last"], ["escaped"]])
        let (object, bytes) = try #require(reader.read(document))
        #expect(
            JSONValue.object(object)
                == JSONValue.object([
                    "meta_iteration": 3, "hyperparameters": ["l2": [0.5, 0.25]], "escaped": true, "last": nil,
                ]))
        #expect(bytes == "3".utf8.count + "[0.5, 0.25]".utf8.count + "true".utf8.count + "null".utf8.count)
        #expect(reader.memberBytes(document) == bytes)
    }

    @Test func aPathThatIsAPrefixReadsTheWholeMember() throws {
        let reader = JSONMemberReader(paths: [["hyperparameters", "l2"], ["hyperparameters"]])
        let (object, _) = try #require(reader.read(document))
        #expect(object["hyperparameters"]?["training_data"] == [[1, 2, 3]])
        #expect(object["hyperparameters"]?["learning_rate"] == [[0.1]])
    }

    @Test func agreesWithParsingTheWholeDocument() throws {
        let whole = try JSONValue.parse(document)
        for key in ["meta_iteration", "note", "rows", "hyperparameters", "empty", "last"] {
            let (object, _) = try #require(JSONMemberReader(paths: [[key]]).read(document))
            #expect(object[key] == whole[key], "\(key)")
        }
    }

    @Test func leavesOutMembersLargerThanTheLimit() throws {
        let reader = JSONMemberReader(paths: [["rows"], ["meta_iteration"]], maxMemberBytes: 8)
        let (object, _) = try #require(reader.read(document))
        #expect(object["rows"] == nil && object["meta_iteration"] == 3)
    }

    @Test func stopsAsSoonAsItHasEveryMemberAskedFor() throws {
        // What follows the last member asked for is never looked at (a megabyte item's learned
        // rows after its hyperparameter groups), here not even valid JSON.
        let text = #"{"a": 1, "h": {"lr": [[0.1]], "rows": [[1, 2], oops"#
        let (object, _) = try #require(JSONMemberReader(paths: [["a"], ["h", "lr"]]).read(text))
        #expect(JSONValue.object(object) == ["a": 1, "h": ["lr": [[0.1]]]])
        #expect(JSONMemberReader(paths: [["a"], ["h", "rows"]]).read(text) == nil)
    }

    @Test func answersNilForWhatIsNotAnObject() {
        let reader = JSONMemberReader(paths: [["a"]])
        #expect(reader.read("[1, 2]") == nil)
        #expect(reader.read(#"{"a": [1, 2"#) == nil)
        #expect(reader.read(#"{"b": "never ends}"#) == nil)
        #expect(reader.read("{}").map { $0.object.isEmpty } == true)
    }
}

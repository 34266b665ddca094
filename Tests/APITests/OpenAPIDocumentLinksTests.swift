import JSON
import Testing

@testable import API

extension OpenAPIDocumentTests {
    /// Every link of the document, as (source operationId, status, target operationId, link).
    var links: [(source: String, status: String, target: String, link: JSONValue)] {
        document.operations.flatMap { _, _, operation in
            (operation["responses"]?.objectValue ?? [:]).flatMap { status, response in
                (document.resolve(response)["links"]?.objectValue ?? [:]).map {
                    (
                        operation["operationId"]?.stringValue ?? "", status,
                        $0.value["operationId"]?.stringValue ?? "", $0.value
                    )
                }
            }
        }
    }

    @Test func everyOperationOnAJobIsLinkedFromEveryAnswerThatIsAJob() throws {
        let jobOperations = document.operations.filter { path, method, _ in
            path.contains("jobs/{id}") && document.parameters(of: path, method).contains("path id")
        }
        .map { $0.2["operationId"]?.stringValue ?? "" }
        #expect(jobOperations.count == 10)
        let sources = ["createJob 202", "createJob 200", "getJob 200", "cancelJob 202", "retryJob 202", "listJobs 200"]
        #expect(Set(links.map { "\($0.source) \($0.status)" }) == Set(sources))
        for source in sources {
            let targets = links.filter { "\($0.source) \($0.status)" == source }.map(\.target)
            #expect(targets.count == Set(targets).count)
            let own = source.split(separator: " ")[0]
            #expect(Set(targets) == Set(jobOperations).subtracting([String(own)]), "\(source)")
        }
    }

    @Test func everyLinkNamesAnOperationAndGivesEachOfItsPathParameters() throws {
        #expect(links.count > 40)
        for (source, status, target, link) in links {
            let location = try #require(
                document.operations.first { $0.2["operationId"]?.stringValue == target }, "\(source) links to \(target)"
            )
            #expect(source != target)
            #expect(status.hasPrefix("2"), "\(source) links from \(status)")
            let required = document.parameters(of: location.0, location.1).filter { $0.hasPrefix("path ") }
            let given = (link["parameters"]?.objectValue ?? [:]).keys.map { "path \($0)" }
            #expect(Set(given) == Set(required), "\(source) → \(target)")
            // The response's schema has the job id the expression reads: a `Job`'s `id`, or the
            // first `Job` of a listing's `jobs`.
            let response = document.operations.first { $0.2["operationId"]?.stringValue == source }?.2["responses"]?[
                status]
            let body = document.resolve(response?["content"]?["application/json"]?["schema"] ?? .null)
            let expression = link["parameters"]?["id"]?.stringValue
            if body["properties"]?["jobs"] != nil {
                #expect(expression == "$response.body#/jobs/0/id")
                #expect(body["properties"]?["jobs"]?["items"]?["$ref"]?.stringValue == "#/components/schemas/Job")
            } else {
                #expect(expression == "$response.body#/id")
                #expect(body == document.schema("Job"), "\(source) \(status) does not answer a job")
            }
        }
    }

    /// Found by the fuzz: a schema-valid key longer than the server takes answered 400.
    @Test func theIdempotencyKeyParameterStatesTheLengthsTheServerAccepts() throws {
        let schema = try #require(document.root["components"]?["parameters"]?["IdempotencyKey"]?["schema"])
        #expect(schema["minLength"]?.intValue == 1)
        #expect(schema["maxLength"]?.intValue == RewindAPI.maximumIdempotencyKeyLength)
    }
}

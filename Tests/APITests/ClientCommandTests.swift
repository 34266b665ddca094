import Foundation
import JSON
import RewindTestSupport
import Testing

@testable import API

/// The `rewind` client commands as a user runs them: the built binary against a real service.
@Suite("The CLI finishes what it starts")
struct ClientCommandTests {
    static func rewind(
        _ service: TestService, _ arguments: [String], environment: [String: String] = [:]
    ) throws -> CommandLineRun {
        // No scheme on purpose: `--url 127.0.0.1:PORT` must work as typed.
        guard let command = arguments.first else { preconditionFailure("a command") }
        let rest = Array(arguments.dropFirst())
        if command == "datasets", let sub = rest.first {
            return try CommandLineRun.rewind(
                ["datasets", sub, "--url", "127.0.0.1:\(service.port)"] + rest.dropFirst(), environment: environment)
        }
        return try CommandLineRun.rewind(
            [command, "--url", "127.0.0.1:\(service.port)"] + rest, environment: environment)
    }

    @Test func listShowsJobsWithTheirDataSetAndDeleteRemovesAFinishedOne() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")

        let list = try Self.rewind(service, ["list"])
        #expect(list.status == 0, "\(list.stderr)")
        let row = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix(id) })
        #expect(row.contains("succeeded") && row.contains("4/4") && row.contains("digits") && row.contains("small"))
        let json = try Self.rewind(service, ["list", "--json", "--status", "succeeded"])
        #expect(try JSONValue.parse(json.stdout.split(separator: "\n")[0].description)["id"]?.stringValue == id)

        let deleted = try Self.rewind(service, ["delete", id])
        #expect(deleted.status == 0 && deleted.stdout == "deleted \(id)\n", "\(deleted.stderr)")
        #expect(!(try Self.rewind(service, ["list"])).stdout.contains(id))
        let again = try Self.rewind(service, ["delete", id])
        #expect(again.status == 1)
        #expect(again.stderr.contains("404") && again.stderr.contains("no job \(id)"))
    }

    @Test func datasetsUploadListAndDelete() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let scratch = try TemporaryDirectory(prefix: "rewind-cli-datasets")
        let file = scratch.file("blobs.csv")
        try Data(DatasetTests.csv).write(to: URL(fileURLWithPath: file))

        let uploaded = try Self.rewind(service, ["datasets", "upload", file])
        #expect(uploaded.status == 0, "\(uploaded.stderr)")
        let id = uploaded.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            uploaded.stderr.contains("blobs: 30 × 2, 3 classes (10, 10, 10 rows)"),
            "the name defaults from the file: \(uploaded.stderr)")
        let repeated = try Self.rewind(service, ["datasets", "upload", file, "--name", "other"])
        #expect(repeated.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        #expect(repeated.stderr.contains("uploaded before"))

        let list = try Self.rewind(service, ["datasets", "list"])
        #expect(list.stdout.contains(id) && list.stdout.contains("blobs") && list.stdout.contains("digits"))
        let deleted = try Self.rewind(service, ["datasets", "delete", id])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(!(try Self.rewind(service, ["datasets", "list"])).stdout.contains(id))
    }

    @Test func retryQueuesACancelledJobAgain() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        #expect(try session.post("/v1/jobs/\(id)/cancel", json: "").status == 202)
        let retried = try Self.rewind(service, ["retry", id])
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(retried.stdout.contains("\(id)  queued"), "\(retried.stdout)")
        let again = try Self.rewind(service, ["retry", id])
        #expect(
            again.status == 1 && again.stderr.contains("only failed or cancelled jobs can be retried"),
            "\(again.stderr)")
    }

    @Test func exportSpecReadsALocalFileAndSaysWhatToDoWithAnUploadsName() throws {
        let scratch = try TemporaryDirectory(prefix: "rewind-cli-export")
        try Data(DatasetTests.csv).write(to: URL(fileURLWithPath: scratch.file("blobs.csv")))
        let local = scratch.file("local.json"), named = scratch.file("named.json")
        let body =
            #""split": {"train": 20, "validation": 10}, "model": {"hidden": [4]}, "training": {"iterations": 5}, "meta": {"iterations": 1}}"#
        try Data((#"{"dataset": {"path": "blobs.csv"}, "# + body).utf8).write(to: URL(fileURLWithPath: local))
        try Data((#"{"dataset": {"name": "blobs"}, "# + body).utf8).write(to: URL(fileURLWithPath: named))

        let exported = try CommandLineRun.rewind(["export", "--spec", local])
        #expect(exported.status == 0, "\(exported.stderr)")
        let document = try JSONValue.parse(exported.stdout)
        #expect(document["format"]?.stringValue == "rewind-replay/1")
        #expect(document["spec"]?["split"]?["shuffle"] == .bool(true))  // own data: the defaults a job gets

        let refused = try CommandLineRun.rewind(["export", "--spec", named])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("/dataset/name") && refused.stderr.contains("\"path\""), "\(refused.stderr)")
    }

    @Test func aMissingKeyNamesTheCLIsOptionAndVariable() throws {
        let service = try TestService(api: APIConfiguration(apiKeys: ["k3y"]), startsWorkers: false)
        defer { service.stop() }
        let denied = try Self.rewind(service, ["list"])
        #expect(denied.status == 1)
        #expect(
            denied.stderr.contains("401") && denied.stderr.contains("--api-key")
                && denied.stderr.contains("REWIND_API_KEY"))
        #expect(try Self.rewind(service, ["list"], environment: ["REWIND_API_KEY": "k3y"]).status == 0)
        #expect(try Self.rewind(service, ["list", "--api-key", "k3y"]).status == 0)
    }

    @Test func aBadURLIsOneUsageErrorAndAnUnreachableServiceExits3() throws {
        let bad = try CommandLineRun.rewind(["list", "--url", "ftp://example"])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("--url") && !bad.stderr.contains("ExitCode"))
        // Port 1 on loopback: nothing listens there.
        let unreachable = try CommandLineRun.rewind(["list", "--url", "127.0.0.1:1"])
        #expect(unreachable.status == 3)
        #expect(unreachable.stderr.contains("cannot reach the service at http://127.0.0.1:1"))
    }

    @Test func invalidSpecsReadTheSameFromSubmitAndRunWithTheRawDocumentOnRequest() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let scratch = try TemporaryDirectory(prefix: "rewind-cli-spec")
        let spec = scratch.file("bad.json")
        try Data(
            #"{"dataset": {"name": "digits"}, "model": {"activation": "swish"}, "training": {"iterations": 0}}"#.utf8
        )
        .write(to: URL(fileURLWithPath: spec))

        let submitted = try Self.rewind(service, ["submit", spec])
        let run = try CommandLineRun.rewind(["run", spec])
        #expect(submitted.status == 1 && run.status == 2)
        for output in [submitted.stderr, run.stderr] {
            #expect(output.contains("The job spec is invalid (2 errors):"), "\(output)")
            #expect(output.contains("  /model/activation: must be one of"))
            #expect(output.contains("  /training/iterations: must be between"))
        }
        let raw = try CommandLineRun.rewind(["run", "--json", spec])
        let problem = try JSONValue.parse(raw.stdout)
        #expect(problem["status"]?.intValue == 422)
        #expect(problem["detail"]?.stringValue?.hasSuffix("(and 1 more error)") == true)
    }

    @Test func exportOfASpecRefusesAnItemItDoesNotHave() throws {
        let scratch = try TemporaryDirectory(prefix: "rewind-cli-export")
        let spec = scratch.file("spec.json")
        try Data(TestSpecs.small.utf8).write(to: URL(fileURLWithPath: spec))
        let refused = try CommandLineRun.rewind(["export", "--spec", spec, "--item", "9"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--item: must be between 0 and 3"), "\(refused.stderr)")
        let missing = try CommandLineRun.rewind(["export"])
        #expect(missing.status == 64 && missing.stderr.contains("--spec"))
    }

    @Test func watchCountsItemsFromZeroLikeTheAPI() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        // Several seconds of work, so the watch sees items arrive.
        let id = try session.submit(TestSpecs.recovery)
        let watched = try Self.rewind(service, ["status", id, "--watch"])
        try session.waitForStatus(id, "succeeded")
        #expect(watched.status == 0, "\(watched.stderr)")
        let job = try session.job(id)
        let best = try #require(job["best"]?["meta_iteration"]?.intValue)
        #expect(watched.stdout.contains("(item \(best))"), "\(watched.stdout)")
        // Items are 0..10: the last one the watch prints is item 10.
        #expect(watched.stderr.contains("item 10 (of 0-10): validation loss"), "\(watched.stderr)")
        #expect(!watched.stderr.contains("item 11"))
    }

    @Test func makeInstallPutsRewindOnThePath() throws {
        // The repository root, three folders above this file (Tests/APITests/…).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let prefix = try TemporaryDirectory(prefix: "rewind-install")
        let built = try ServerProcess.executableURL().deletingLastPathComponent().path
        let install = try CommandLineRun.run(
            "make", ["-s", "-C", root, "install-binary", "BIN_PATH=\(built)", "PREFIX=\(prefix.path)"])
        #expect(install.status == 0, "make install-binary: \(install.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: prefix.file("bin/rewind")))
        // Found by name through PATH, as a user runs it.
        let onPath = try CommandLineRun.run(
            "rewind", ["--help"], environment: ["PATH": prefix.file("bin") + ":/usr/bin:/bin"])
        #expect(onPath.status == 0)
        #expect(onPath.stdout.contains("USAGE: rewind"), "\(onPath.stdout)\(onPath.stderr)")
    }
}

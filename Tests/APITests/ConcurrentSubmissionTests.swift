import Dispatch
import JSON
import RewindTestSupport
import Synchronization
import Testing

/// Many clients submitting at once: every accepted job is stored exactly once, and idempotent
/// repeats answer the job their key created.
@Suite("Concurrent submissions")
struct ConcurrentSubmissionTests {
    /// One planned submission: its body and, for half of them, an idempotency key.
    struct Submission: Sendable {
        var spec: String
        var key: String?
    }

    @Test func fortySubmissionsFromEightThreadsCreateExactlyTheExpectedJobs() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)

        // 20 plain submissions (distinct jobs even where bodies repeat) and 10 keys sent twice each.
        var plan: [Submission] = (0..<20).map { Submission(spec: TestSpecs.small(name: "plain \($0 % 5)")) }
        for key in 0..<10 {
            let submission = Submission(spec: TestSpecs.small(name: "keyed \(key)"), key: "key-\(key)")
            plan += [submission, submission]
        }
        var generator = SeededGenerator(seed: 7)
        plan.shuffle(using: &generator)
        let submissions = plan

        let answers = Mutex<[(index: Int, status: Int, id: String?)]>([])
        let threads = 8
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in stride(from: thread, to: submissions.count, by: threads) {
                let submission = submissions[index]
                let headers = submission.key.map { [("Idempotency-Key", $0)] } ?? []
                let response = try? session.post("/v1/jobs", json: submission.spec, headers: headers)
                answers.withLock {
                    $0.append((index, response?.status ?? -1, response?.json["id"]?.stringValue))
                }
            }
        }
        let results = answers.withLock { $0 }
        #expect(results.count == 40)

        var plainIDs: [String] = []
        var keyedIDs: [String: [String]] = [:]
        var keyedStatuses: [String: [Int]] = [:]
        for result in results {
            let submission = submissions[result.index]
            guard let id = result.id else {
                Issue.record("submission \(result.index) answered \(result.status) without an id")
                continue
            }
            if let key = submission.key {
                keyedIDs[key, default: []].append(id)
                keyedStatuses[key, default: []].append(result.status)
            } else {
                #expect(result.status == 202)
                plainIDs.append(id)
            }
        }
        #expect(Set(plainIDs).count == 20)
        #expect(keyedIDs.count == 10)
        for (key, ids) in keyedIDs {
            #expect(ids.count == 2 && ids[0] == ids[1], "\(key) answered \(ids)")
            #expect(keyedStatuses[key]?.sorted() == [200, 202], "\(key) answered \(keyedStatuses[key] ?? [])")
        }

        // The store holds exactly those 30 jobs: none lost, none duplicated.
        let listed = try session.get("/v1/jobs?limit=200").json["jobs"]?.arrayValue ?? []
        let stored = Set(listed.compactMap { $0["id"]?.stringValue })
        #expect(listed.count == 30)
        #expect(stored == Set(plainIDs).union(keyedIDs.values.compactMap(\.first)))
    }

    @Test func concurrentSubmissionsAllRunToSuccessWithTwoWorkers() throws {
        let service = try TestService(workers: 2)
        defer { service.stop() }
        let session = APISession(service)
        let ids = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { index in
            if let id = try? session.submit(TestSpecs.small(name: "parallel \(index)")) {
                ids.withLock { $0.append(id) }
            }
        }
        let submitted = ids.withLock { $0 }
        #expect(submitted.count == 6)
        for id in submitted {
            let job = try session.waitForJob(id, "a terminal status") {
                ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
            }
            #expect(job["status"]?.stringValue == "succeeded")
            #expect(job["attempt"]?.intValue == 1)
            #expect(try session.history(id).count == 4)
        }
    }
}

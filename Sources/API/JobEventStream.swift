import Dispatch
import Foundation
import HTTPServer
import JSON
import Jobs
import Storage
import Synchronization

/// One watcher of one job: Server-Sent Events fed from the database (replay) and the event hub
/// (live), on its own serial queue so a slow watcher never slows training. Every stream's queue
/// targets one shared queue, so a thousand open streams cost no thread each: only the work they
/// have at a moment runs, one piece at a time, and replays read the history in small pages.
///
/// Event ids count history items: `meta_iteration` N carries `id: N+1`, and progress and status
/// events repeat the current count, so `Last-Event-ID: K` replays the items from K on.
final class JobEventStream: Sendable {
    let jobID: String
    /// History items the job writes in all (fixed at submission).
    let total: Int
    let writer: ResponseStreamWriter
    let queue: DispatchQueue
    /// What opened the stream, re-checked every `EventStreams.recheckInterval`.
    let credential: StreamCredential
    private let store: Store
    /// Event texts shared by every stream.
    private let texts: EventTexts
    /// Items already sent, and whether the terminal status went out.
    private let sent = Mutex<(items: Int, done: Bool)>((0, false))

    init(
        jobID: String, total: Int, store: Store, texts: EventTexts, writer: ResponseStreamWriter,
        resumeFrom items: Int, credential: StreamCredential = .open
    ) {
        self.jobID = jobID
        self.texts = texts
        self.credential = credential
        self.total = total
        self.store = store
        self.writer = writer
        queue = DispatchQueue(label: "rewind.events.\(jobID)", target: EventStreams.work)
        sent.withLock { $0.items = items }
    }

    /// Everything the watcher missed, then the current progress; ends the stream if the job is over.
    func replay() {
        guard let record = try? store.job(id: jobID) else { return finish() }
        sendNewItems(upTo: record.progressDone)
        sendProgress(record)
        if record.status.isTerminal { sendStatus(record) }
    }

    /// The polling fallback when events come from other nodes: items and a terminal status the
    /// watcher has not seen yet (a missed notification costs a second of delay, not an event).
    /// `record` is the job as the poll read it, once for all of the job's watchers.
    func refresh(_ record: JobRecord) {
        sendNewItems(upTo: record.progressDone)
        if record.status.isTerminal { sendStatus(record) }
    }

    /// Runs `work` on the stream's queue with its store calls bounded by `EventStreams.storeDeadline`,
    /// as a request's are: a stream never waits on an unreachable database longer than a request.
    func perform(_ work: @escaping @Sendable (JobEventStream) -> Void) {
        queue.async { [self] in StoreDeadline.within(EventStreams.storeDeadline) { work(self) } }
    }

    func handle(_ event: JobEventHub.Event) {
        switch event {
        case .metaIteration(let index, _):
            sendNewItems(upTo: index + 1)
        case .progress(let done, let fraction):
            // Straight from the event, built once for every stream: no database reads.
            write(
                texts.progress(
                    jobID: jobID, done: done, total: total, fraction: fraction, id: sent.withLock { $0.items }))
        case .status(let status):
            guard let record = texts.record(jobID: jobID, status: status) else { return finish() }
            sendNewItems(upTo: record.progressDone)
            sendStatus(record)
        }
    }

    /// A comment line that keeps proxies and idle timeouts from closing the stream.
    func ping() {
        writer.write(": ping\n\n")
    }

    /// Ends the stream because its credential no longer holds (the key revoked, the session
    /// signed out or expired).
    func revoke() {
        finish()
    }

    private func sendNewItems(upTo count: Int) {
        while !writer.isClosed {
            let from = sent.withLock { $0.items }
            guard count > from else { return }
            // The numbers storage keeps beside each item, read and serialised once for every
            // stream of the job (the items themselves, megabytes for some jobs, are never read).
            let texts = texts.items(jobID: jobID, from: from, to: count)
            guard !texts.isEmpty else { return }
            for (index, text) in texts {
                write(text)
                sent.withLock { $0.items = max($0.items, index + 1) }
            }
        }
    }

    private func sendProgress(_ record: JobRecord) {
        write(
            event: "progress", id: sent.withLock { $0.items },
            data: Self.progress(
                done: record.progressDone, total: record.progressTotal,
                fraction: record.status == .succeeded ? 1 : record.progressFraction))
    }

    private func sendStatus(_ record: JobRecord) {
        var data: JSONObject = ["status": .string(record.status.rawValue)]
        if let code = record.errorCode {
            data["error"] = ["code": .string(code), "message": .string(record.errorMessage ?? code)]
        }
        write(event: "status", id: sent.withLock { $0.items }, data: .object(data))
        if record.status.isTerminal { finish() }
    }

    private func finish() {
        let first = sent.withLock { state in
            defer { state.done = true }
            return !state.done
        }
        if first { writer.finish() }
    }

    private func write(event: String, id: Int, data: JSONValue) {
        write(EventTexts.frame(event: event, id: id, data: data))
    }

    private func write(_ text: [UInt8]) {
        guard !sent.withLock({ $0.done }) else { return }
        writer.write(text)
    }

    static func progress(done: Int, total: Int, fraction: Double) -> JSONValue {
        ["done": .number(Double(done)), "total": .number(Double(total)), "fraction": .number(min(1, max(0, fraction)))]
    }
}

/// The credential an event stream was opened with, as the streams re-check it: a key or a
/// session by digest (never the secret itself), or none in single-user mode.
enum StreamCredential: Hashable, Sendable {
    case open
    case key(sha256: String)
    case session(sha256: String)
}

/// The open event streams, pinged every 15 seconds by one timer thread, which also makes them
/// poll their job every `pollInterval` seconds when set (each distinct job read once per poll, not
/// once per watcher), and re-checks every stream's credential every `recheckInterval` (each
/// distinct credential once), closing the streams whose key was revoked or whose session ended;
/// capped in total and per client address. Every store call the timer or a stream makes is bounded
/// by `storeDeadline`, as a request's are.
final class EventStreams: Sendable {
    /// Where every stream's work runs, one piece at a time.
    static let work = DispatchQueue(label: "rewind.events")
    /// Seconds between credential checks: a revoked key's streams close within about this long.
    static let recheckInterval = 0.5
    /// How long one store call of a stream or of the timer may wait (for a pooled connection, a
    /// retry): past it the call fails and the stream tries again at its next poll.
    static let storeDeadline: Duration = .seconds(2)

    /// Why a stream was refused.
    enum Refusal: Error {
        case tooManyInTotal, tooManyFromClient
    }

    private let open = Mutex<[ObjectIdentifier: JobEventStream]>([:])
    private let reserved = Mutex<(total: Int, perClient: [String: Int])>((0, [:]))
    /// Which of a set of credentials no longer hold; set by the API once it exists.
    private let credentialCheck = Mutex<(@Sendable (Set<StreamCredential>) -> Set<StreamCredential>)?>(nil)

    /// Takes a slot for a stream from `client`; release it with `release(client:)`.
    func reserve(client: String, maxTotal: Int, maxPerClient: Int) throws(Refusal) {
        try reserved.withLock { state throws(Refusal) in
            guard state.total < maxTotal else { throw .tooManyInTotal }
            guard state.perClient[client, default: 0] < maxPerClient else { throw .tooManyFromClient }
            state.total += 1
            state.perClient[client, default: 0] += 1
        }
    }

    func release(client: String) {
        reserved.withLock { state in
            state.total -= 1
            let left = state.perClient[client, default: 1] - 1
            state.perClient[client] = left > 0 ? left : nil
        }
    }

    /// Sets how credentials are re-checked: `check` answers the ones that no longer hold.
    func checkCredentials(with check: @escaping @Sendable (Set<StreamCredential>) -> Set<StreamCredential>) {
        credentialCheck.withLock { $0 = check }
    }

    /// `store` is what polls read (nil: no polling, events come from this process's hub).
    init(pingInterval: Double = 15, pollInterval: Double? = nil, store: Store? = nil) {
        let tick = min(pingInterval, pollInterval ?? pingInterval, Self.recheckInterval)
        Thread.detachNewThread { [weak self] in
            var sincePing = 0.0, sincePoll = 0.0
            while true {
                Thread.sleep(forTimeInterval: tick)
                guard let self else { return }
                sincePing += tick
                sincePoll += tick
                let ping = sincePing >= pingInterval
                if ping { sincePing = 0 }
                let poll = store != nil && pollInterval.map { sincePoll >= $0 } ?? false
                if poll { sincePoll = 0 }
                let streams = self.open.withLock { Array($0.values) }
                let (revoked, jobs) = StoreDeadline.within(Self.storeDeadline) {
                    (self.revokedCredentials(of: streams), poll ? Self.jobs(of: streams, in: store) : [:])
                }
                for stream in streams {
                    let record = jobs[stream.jobID]
                    guard revoked.contains(stream.credential) || record != nil || ping else { continue }
                    stream.perform { stream in
                        if revoked.contains(stream.credential) { return stream.revoke() }
                        if let record { stream.refresh(record) }
                        if ping { stream.ping() }
                    }
                }
            }
        }
    }

    /// The jobs `streams` watch, each read once (one that cannot be read now is left out).
    private static func jobs(of streams: [JobEventStream], in store: Store?) -> [String: JobRecord] {
        guard let store else { return [:] }
        var records: [String: JobRecord] = [:]
        for jobID in Set(streams.map(\.jobID)) {
            if let record = try? store.job(id: jobID) { records[jobID] = record }
        }
        return records
    }

    /// The credentials among `streams`' that no longer hold, each checked once.
    private func revokedCredentials(of streams: [JobEventStream]) -> Set<StreamCredential> {
        guard let check = credentialCheck.withLock({ $0 }) else { return [] }
        return check(Set(streams.map(\.credential)))
    }

    func add(_ stream: JobEventStream) {
        open.withLock { $0[ObjectIdentifier(stream)] = stream }
    }

    func remove(_ stream: JobEventStream) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(stream)) }
    }

    var count: Int { open.withLock { $0.count } }
}

import NodeResources

/// The protocol logic of one connection: bytes, handler responses, stream events and the time
/// in; bytes to write, requests to dispatch and "close" out. It owns no socket and reads no
/// clock (`now` is monotonic nanoseconds from the caller), so keep-alive, pipelining order,
/// `100 Continue` and every timeout are unit-testable without sleeping.
struct HTTPConnectionStateMachine {
    typealias RequestID = Int

    struct Configuration: Sendable {
        /// Time allowed from the first byte of a request (or from accept) to the end of its head,
        /// and the longest silence allowed while a body is being received.
        var headerReadTimeout: UInt64
        /// Time allowed from the end of a head to the end of its body, however steadily the bytes
        /// trickle in: a client sending one byte a second cannot hold a connection for hours.
        var bodyTimeout: UInt64 = .max
        /// How long a keep-alive connection may sit between requests.
        var idleTimeout: UInt64
        /// The slowest a streamed body (an upload) may arrive on average, in bytes per second,
        /// once `streamedBodyRateGrace` has passed: a client trickling a few bytes every few
        /// seconds gets 408 instead of holding one of the few upload slots until `bodyTimeout`.
        /// 0: no such floor.
        var streamedBodyMinimumRate: UInt64 = 0
        /// Nanoseconds from the end of a head before the rate above is enforced.
        var streamedBodyRateGrace: UInt64 = 0
        /// Requests read ahead of their responses; reading pauses beyond this.
        var maxPipelinedRequests: Int
        /// Unparsed input kept while requests wait their turn; reading pauses beyond this.
        var maxBufferedBytes: Int
        var parserLimits: HTTPRequestParser.Limits
        var bodyLimit: @Sendable (HTTPRequestHead) -> Int
        /// The setting behind a head's body limit, named in its 413.
        var bodyLimitSetting: @Sendable (HTTPRequestHead) -> String? = { _ in nil }
        var date: @Sendable () -> String
        /// Sent on every response unless the response sets the same field (security headers).
        var defaultHeaders: HTTPHeaders = HTTPHeaders()
        /// What request bodies draw from as they arrive; past it the request gets 503 with
        /// `Retry-After` and the connection closes. Nil: bodies are bounded by their limit alone.
        var budget: MemoryBudget? = nil
        /// Whether a head with a body is screened (`screen` action) before any body byte is read.
        var screensHeads = false
        /// Whether a head's body is streamed to its handler (`RequestBodyStream`): the request is
        /// dispatched once its head is accepted, and its body flows through a bounded pipe.
        var streamsBody: @Sendable (HTTPRequestHead) -> Bool = { _ in false }
        /// The bytes a streamed body's pipe holds before reading pauses; drawn from `budget`.
        var bodyPipeBytes = 1 << 20
    }

    enum Action {
        case write([UInt8])
        case dispatch(RequestID, HTTPRequest)
        /// Begin forwarding `writer`'s bytes; its head was written just before.
        case attachStream(RequestID, ResponseStreamWriter)
        /// Tell a stream's producer it is over (HEAD, client gone, stopping).
        case terminateStream(ResponseStreamWriter, ResponseStreamWriter.CloseReason)
        /// Close once everything written so far has been flushed.
        case close
        /// Decide from the head alone whether request `id` may send its body (authentication,
        /// media type); answer with `headScreened`. No body byte is read, and no `100 Continue`
        /// sent, until then.
        case screen(RequestID, HTTPRequestHead)
    }

    /// A request whose response has not been fully handed to the writer yet, in request order.
    private struct Slot {
        var id: RequestID
        var head: HTTPRequestHead
        var dispatched = false
        var wantsContinue = false
        /// Waiting for the verdict on its head; its body is not read meanwhile.
        var screening = false
        /// What its body holds of the node's memory budget, released with the slot.
        var reservation: MemoryReservation?
        var response: HTTPResponse?
        /// Server-made error responses end the connection.
        var closesConnection = false
        /// Its body goes to its handler through a `RequestBodyStream` as it arrives.
        var streamsBody = false
    }

    /// The streamed body being received, and since when reading has been paused for it (the
    /// handler had not drained its pipe): that time is the server's, not the client's.
    private struct Receiving {
        var id: RequestID
        var stream: RequestBodyStream
        var pausedSince: UInt64?
    }

    private var receiving: Receiving?

    private let configuration: Configuration
    private var parser: HTTPRequestParser
    private var slots: [Slot] = []
    private var nextID: RequestID = 0
    /// The response being streamed; it blocks the responses behind it.
    private struct Stream {
        var id: RequestID
        var writer: ResponseStreamWriter
        var chunked: Bool
        var closesConnection: Bool
    }

    private var streaming: Stream?

    /// Why no more requests will be read. Ordered: a later reason only replaces an earlier, lesser
    /// one (stopping outranks the peer's EOF, which outranks the requests simply having ended).
    private enum ReadingDoneReason: Int, Comparable {
        /// A server-detected error, a refused head, or a request asking to close.
        case requestsEnded
        /// The client closed its side: the last answer owed closes the connection.
        case peerClosed
        /// The server is stopping: the last answer owed closes the connection, and a stream ends
        /// as soon as it is attached.
        case stopping

        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The connection's lifecycle. It only moves forward: reading, reading done, closed.
    private enum Lifecycle {
        /// Requests are read. `servedAny`: a response has been written, so silence between
        /// requests is keep-alive idleness rather than a slow first request.
        case reading(servedAny: Bool)
        /// No more requests will be read; the answers owed are still sent.
        case readingDone(ReadingDoneReason)
        /// Nothing more is read or written. `whileIdle`: closed with no request in progress.
        case closed(whileIdle: Bool)
    }

    private var lifecycle: Lifecycle = .reading(servedAny: false)

    var isClosed: Bool {
        if case .closed = lifecycle { return true }
        return false
    }

    /// Closed with no request in progress, so no unread input can turn our FIN into a reset:
    /// the shell may close at once instead of lingering.
    var closedWhileIdle: Bool {
        if case .closed(let whileIdle) = lifecycle { return whileIdle }
        return false
    }

    /// No more requests will be read (error, close requested, peer EOF, stopping or closed).
    private var readingDone: Bool {
        if case .reading = lifecycle { return false }
        return true
    }

    private var servedAny: Bool {
        if case .reading(let servedAny) = lifecycle { return servedAny }
        return true
    }

    /// Whether the last answer owed closes the connection (the peer left or the server stops).
    private var closesAfterOwedAnswers: Bool {
        if case .readingDone(let reason) = lifecycle { return reason >= .peerClosed }
        return false
    }

    private var stopping: Bool {
        if case .readingDone(.stopping) = lifecycle { return true }
        return false
    }

    private var idleSince: UInt64
    private var requestStartedAt: UInt64?
    private var lastReadAt: UInt64
    /// When the head of the request whose body is being received was accepted.
    private var bodyStartedAt: UInt64?

    init(configuration: Configuration, now: UInt64) {
        self.configuration = configuration
        self.parser = HTTPRequestParser(
            limits: configuration.parserLimits, bodyLimit: configuration.bodyLimit,
            bodyLimitSetting: configuration.bodyLimitSetting)
        self.idleSince = now
        self.lastReadAt = now
    }

    /// Whether the shell should keep reading from the socket.
    var wantsRead: Bool {
        // Reading goes on after the last request so that a client leaving is noticed (and a
        // stream's producer told); what arrives then is discarded.
        !isClosed && parser.bufferedByteCount < configuration.maxBufferedBytes && receiving?.stream.isFull != true
    }

    /// The pipe of a streamed body was drained after it had filled: reading resumes, and the time
    /// it was paused does not count against the client's timeouts.
    mutating func bodyResumed(now: UInt64) {
        guard var current = receiving else { return }
        if let since = current.pausedSince {
            let paused = now &- since
            if let started = bodyStartedAt { bodyStartedAt = started &+ paused }
            current.pausedSince = nil
            receiving = current
        }
        lastReadAt = now
    }

    /// Whether a streamed response is being sent (its producer must hear about a lost client).
    var isStreaming: Bool { streaming != nil }

    /// The producer of the streamed response being sent, told how far the socket has got.
    var streamWriter: ResponseStreamWriter? { streaming?.writer }

    // MARK: - Events

    mutating func bytesReceived(_ bytes: some Collection<UInt8>, now: UInt64) -> [Action] {
        guard !isClosed, !readingDone else { return [] }
        if parser.isIdle, !bytes.isEmpty { requestStartedAt = now }
        lastReadAt = now
        parser.append(bytes)
        var actions: [Action] = []
        parse(into: &actions)
        return actions
    }

    /// The handler's answer to request `id`.
    mutating func responseReady(_ id: RequestID, _ response: HTTPResponse, now: UInt64) -> [Action] {
        guard !isClosed, let index = slots.firstIndex(where: { $0.id == id }) else {
            if case .stream(let writer) = response.body { return [.terminateStream(writer, .clientDisconnected)] }
            return []
        }
        slots[index].response = response
        if let current = receiving, current.id == id {
            // Answered before its body ended (a refusal mid-body): the rest is not read, and the
            // connection closes after the answer.
            current.stream.abandon()
            receiving = nil
            bodyStartedAt = nil
            slots[index].closesConnection = true
            endReading(.requestsEnded)
        }
        var actions: [Action] = []
        drain(into: &actions, now: now)
        return actions
    }

    /// The verdict on request `id`'s head: nil lets its body be read (and `100 Continue` sent);
    /// a response refuses it unread, and the connection closes after it.
    mutating func headScreened(_ id: RequestID, refusal: HTTPResponse?, now: UInt64) -> [Action] {
        guard !isClosed, let index = slots.firstIndex(where: { $0.id == id }), slots[index].screening else { return [] }
        slots[index].screening = false
        var actions: [Action] = []
        if let refusal {
            endReading(.requestsEnded)
            bodyStartedAt = nil
            slots[index].response = refusal
            slots[index].closesConnection = true
            slots[index].wantsContinue = false
        } else {
            bodyStartedAt = now
            lastReadAt = now
            if slots[index].streamsBody { startStreamedBody(at: index, into: &actions) }
            parse(into: &actions)
        }
        drain(into: &actions, now: now)
        return actions
    }

    /// The producer of the stream sent for request `id` wrote `bytes`.
    mutating func streamData(_ id: RequestID, _ bytes: [UInt8]) -> [Action] {
        guard !isClosed, let stream = streaming, stream.id == id, !bytes.isEmpty else { return [] }
        return [.write(stream.chunked ? ResponseSerializer.chunk(bytes) : bytes)]
    }

    /// The producer of the stream sent for request `id` finished.
    mutating func streamFinished(_ id: RequestID, now: UInt64) -> [Action] {
        guard !isClosed, let stream = streaming, stream.id == id else { return [] }
        streaming = nil
        var actions: [Action] = []
        guard stream.chunked else {
            close(into: &actions)
            return actions
        }
        actions.append(.write(ResponseSerializer.lastChunk))
        slots.removeFirst()
        finishedResponse(into: &actions, closing: stream.closesConnection, now: now)
        return actions
    }

    /// The client closed its side (EOF). Answers still owed are sent, then the connection closes;
    /// a stream in progress means the client is gone.
    mutating func peerClosed(now: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        endReading(.peerClosed)
        failStreamedBody(.clientDisconnected)
        var actions: [Action] = []
        if streaming != nil {
            close(into: &actions)  // tells the producer the client is gone
            return actions
        }
        // A body cut short can never complete.
        slots.removeAll { !$0.dispatched && $0.response == nil }
        if slots.isEmpty { close(into: &actions) }
        return actions
    }

    /// Stop taking requests: close now if idle, else after the responses owed; end any stream.
    mutating func stop(now: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        endReading(.stopping)
        failStreamedBody(.serverStopping)
        var actions: [Action] = []
        if let stream = streaming {
            actions.append(.terminateStream(stream.writer, .serverStopping))
            endStreamBecauseStopping(stream, into: &actions, whileIdle: parser.isIdle)
            return actions
        }
        slots.removeAll { !$0.dispatched && $0.response == nil }
        if slots.isEmpty { close(into: &actions, whileIdle: parser.isIdle) }
        return actions
    }

    /// The earliest moment `timerFired` has something to do, nil when no timeout runs.
    var deadline: UInt64? {
        guard !isClosed else { return nil }
        if let current = receiving, !readingDone {
            // While the handler has not drained the pipe, reading is paused on the server's account.
            if current.pausedSince != nil || current.stream.isFull { return nil }
            let silence = lastReadAt &+ configuration.headerReadTimeout
            guard let bodyStartedAt else { return silence }
            let (total, overflow) = bodyStartedAt.addingReportingOverflow(configuration.bodyTimeout)
            let deadline = overflow ? silence : min(silence, total)
            return rateDeadline(current, bodyStartedAt: bodyStartedAt).map { min(deadline, $0) } ?? deadline
        }
        if let receiving = slots.last, !receiving.dispatched, receiving.response == nil, !readingDone {
            // Waiting for the verdict on its head is the server's time, not the client's silence.
            if receiving.screening { return nil }
            let silence = lastReadAt &+ configuration.headerReadTimeout
            guard let bodyStartedAt else { return silence }
            let (total, overflow) = bodyStartedAt.addingReportingOverflow(configuration.bodyTimeout)
            return overflow ? silence : min(silence, total)
        }
        guard slots.isEmpty, !readingDone else { return nil }
        if parser.isIdle {
            return idleSince &+ (servedAny ? configuration.idleTimeout : configuration.headerReadTimeout)
        }
        return (requestStartedAt ?? idleSince) &+ configuration.headerReadTimeout
    }

    mutating func timerFired(now: UInt64) -> [Action] {
        guard let deadline, now >= deadline else { return [] }
        var actions: [Action] = []
        if slots.isEmpty, parser.isIdle, servedAny {
            close(into: &actions, whileIdle: true)  // an idle keep-alive connection closes silently
            return actions
        }
        if let current = receiving, let bodyStartedAt, let floor = rateDeadline(current, bodyStartedAt: bodyStartedAt),
            now >= floor
        {
            fail(
                status: .requestTimeout,
                detail:
                    "The request body arrived slower than \(configuration.streamedBodyMinimumRate) bytes per second.",
                into: &actions, now: now)
            return actions
        }
        fail(status: .requestTimeout, detail: "The request was not received in time.", into: &actions, now: now)
        return actions
    }

    /// When a streamed body falls below its minimum average rate if no more of it arrives: the
    /// grace period plus the time its bytes so far buy at that rate (nil: no floor).
    private func rateDeadline(_ current: Receiving, bodyStartedAt: UInt64) -> UInt64? {
        let rate = configuration.streamedBodyMinimumRate
        guard rate > 0 else { return nil }
        let (scaled, overflow) = UInt64(current.stream.bytesReceived).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return nil }
        let (deadline, late) = bodyStartedAt.addingReportingOverflow(
            configuration.streamedBodyRateGrace &+ scaled / rate)
        return late ? nil : deadline
    }

    // MARK: - Internals

    private mutating func parse(into actions: inout [Action]) {
        while !readingDone, slots.last?.screening != true,
            slots.count < configuration.maxPipelinedRequests || slots.last.map({ !$0.dispatched }) == true
                || receiving != nil
        {
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                fail(status: error.status, detail: error.detail, into: &actions, now: lastReadAt)
                return
            }
            guard chargeBody(event, into: &actions) else { return }
            guard let event else { return }
            switch event {
            case .head(let head):
                requestStartedAt = nil
                bodyStartedAt = lastReadAt
                var slot = Slot(id: nextID, head: head)
                nextID += 1
                slot.wantsContinue = head.expectsContinue && parser.awaitsBodyBytes
                slot.screening = configuration.screensHeads && parser.hasBodyAhead
                slot.streamsBody = parser.hasBodyAhead && configuration.streamsBody(head)
                if slot.streamsBody { parser.streamBody() }
                slots.append(slot)
                if slot.screening {
                    actions.append(.screen(slot.id, head))
                    return
                }
                if slot.streamsBody {
                    startStreamedBody(at: slots.count - 1, into: &actions)
                    if readingDone { return }
                }
                if slot.wantsContinue, slots.count == 1 {
                    drain(into: &actions, now: lastReadAt)
                }
            case .bodyPiece(let bytes):
                guard var current = receiving else { continue }  // abandoned: dropped
                current.stream.append(bytes)
                if current.pausedSince == nil, current.stream.isFull { current.pausedSince = lastReadAt }
                receiving = current
            case .request(let request) where slots.last?.streamsBody == true:
                bodyStartedAt = nil
                receiving?.stream.finish(trailers: request.trailers)
                receiving = nil
                if !request.head.keepAlive { endReading(.requestsEnded) }
                if !parser.isIdle { requestStartedAt = lastReadAt }
            case .request(let request):
                bodyStartedAt = nil
                let index = slots.count - 1
                slots[index].dispatched = true
                if slots[index].wantsContinue { slots[index].wantsContinue = false }
                if !request.head.keepAlive { endReading(.requestsEnded) }
                actions.append(.dispatch(slots[index].id, request))
                if !parser.isIdle { requestStartedAt = lastReadAt }
            }
        }
    }

    /// Charges the body being received to the memory budget as it grows; false (the request
    /// answered 503 with `Retry-After`) when the budget has no room for it.
    private mutating func chargeBody(_ event: HTTPRequestParser.Event?, into actions: inout [Action]) -> Bool {
        guard let budget = configuration.budget, let index = slots.indices.last, !slots[index].dispatched else {
            return true
        }
        let held: Int
        switch event {
        case .request(let request)?: held = request.body.capacity
        case .head?, .bodyPiece?: return true
        case nil: held = parser.bodyCapacity
        }
        let charged = slots[index].reservation?.bytes ?? 0
        guard held > charged else { return true }
        if let reservation = slots[index].reservation {
            if reservation.grow(by: held - charged) { return true }
        } else if let reservation = budget.tryReserve(held) {
            slots[index].reservation = reservation
            return true
        }
        fail(
            status: .serviceUnavailable, detail: "The server has no memory for this body now; retry shortly.",
            retryAfter: 2, into: &actions, now: lastReadAt)
        return false
    }

    /// Dispatches the streamed request of slot `index` with a new pipe for its body, charged to the
    /// memory budget; 503 with `Retry-After` when the budget has no room for the pipe.
    private mutating func startStreamedBody(at index: Int, into actions: inout [Action]) {
        // A pipe may pass its capacity by one socket read (64 KiB); its charge covers that.
        let charge = configuration.bodyPipeBytes + (64 << 10)
        if let budget = configuration.budget {
            guard let reservation = budget.tryReserve(charge) else {
                fail(
                    status: .serviceUnavailable, detail: "The server has no memory for this body now; retry shortly.",
                    retryAfter: 2, into: &actions, now: lastReadAt)
                return
            }
            slots[index].reservation = reservation
        }
        let stream = RequestBodyStream(capacity: configuration.bodyPipeBytes)
        slots[index].dispatched = true
        receiving = Receiving(id: slots[index].id, stream: stream)
        actions.append(.dispatch(slots[index].id, HTTPRequest(head: slots[index].head, bodyStream: stream)))
    }

    /// Ends the streamed body being received, if any, with `failure`.
    private mutating func failStreamedBody(_ failure: RequestBodyStream.Failure) {
        guard let current = receiving else { return }
        current.stream.fail(failure)
        receiving = nil
    }

    /// Writes every response that is next in line, in request order.
    private mutating func drain(into actions: inout [Action], now: UInt64) {
        while streaming == nil, !isClosed, let first = slots.first {
            if first.wantsContinue, !first.screening {
                actions.append(.write(ResponseSerializer.continueResponse))
                slots[0].wantsContinue = false
            }
            guard let response = first.response else { return }
            let closing =
                first.closesConnection || !first.head.keepAlive
                || (closesAfterOwedAnswers && slots.count == 1)
            let isHead = first.head.method == .head
            switch response.body {
            case .bytes(let body):
                let framing: ResponseSerializer.Framing =
                    response.status.forbidsBody ? .none : .contentLength(body.count)
                actions.append(.write(head(response, framing: framing, version: first.head.version, close: closing)))
                if !isHead, framing != .none, !body.isEmpty { actions.append(.write(body)) }
                slots.removeFirst()
                finishedResponse(into: &actions, closing: closing, now: now)
            case .stream(let writer):
                let chunked = first.head.version != .http1_0
                if isHead || response.status.forbidsBody {
                    let framing: ResponseSerializer.Framing =
                        response.status.forbidsBody ? .none : (chunked ? .chunked : .closeDelimited)
                    actions.append(
                        .write(
                            head(
                                response, framing: framing, version: first.head.version,
                                close: closing || !chunked)))
                    actions.append(.terminateStream(writer, .notSent))
                    slots.removeFirst()
                    finishedResponse(into: &actions, closing: closing || !chunked, now: now)
                } else {
                    actions.append(
                        .write(
                            head(
                                response, framing: chunked ? .chunked : .closeDelimited,
                                version: first.head.version, close: closing || !chunked)))
                    actions.append(.attachStream(first.id, writer))
                    streaming = Stream(id: first.id, writer: writer, chunked: chunked, closesConnection: closing)
                    if stopping {
                        actions.append(.terminateStream(writer, .serverStopping))
                        endStreamBecauseStopping(streaming!, into: &actions)
                    }
                }
            }
        }
    }

    /// Ends a stream cleanly (a last chunk, so an SSE client sees a clean end and reconnects
    /// elsewhere) and closes: nothing behind it is served while stopping.
    private mutating func endStreamBecauseStopping(
        _ stream: Stream, into actions: inout [Action], whileIdle: Bool = false
    ) {
        streaming = nil
        if stream.chunked { actions.append(.write(ResponseSerializer.lastChunk)) }
        slots.removeFirst()
        close(into: &actions, whileIdle: whileIdle)
    }

    private mutating func finishedResponse(into actions: inout [Action], closing: Bool, now: UInt64) {
        responseWritten()
        if closing || (slots.isEmpty && closesAfterOwedAnswers) {
            close(into: &actions)
            return
        }
        if slots.isEmpty { idleSince = now }
        if !readingDone { parse(into: &actions) }
        drain(into: &actions, now: now)
    }

    /// Answers a server-detected error after the responses already owed, then closes.
    private mutating func fail(
        status: HTTPStatus, detail: String, retryAfter: Int? = nil, into actions: inout [Action], now: UInt64
    ) {
        endReading(.requestsEnded)
        if let current = receiving {
            // The handler is reading this body: it hears why it ended and answers for itself.
            let reason: RequestBodyStream.Failure.Reason = status == .requestTimeout ? .timedOut : .malformed
            current.stream.fail(RequestBodyStream.Failure(reason, status: status, detail: detail))
            receiving = nil
            bodyStartedAt = nil
            if let index = slots.firstIndex(where: { $0.id == current.id }) { slots[index].closesConnection = true }
            drain(into: &actions, now: now)
            return
        }
        var problem = HTTPResponse.problem(status, detail: detail)
        if let retryAfter { problem.headers.set("Retry-After", "\(retryAfter)") }
        if let last = slots.last, !last.dispatched, last.response == nil {
            slots[slots.count - 1].response = problem
            slots[slots.count - 1].closesConnection = true
            slots[slots.count - 1].wantsContinue = false
            slots[slots.count - 1].screening = false
        } else {
            // The head never parsed; a placeholder head gives the answer HTTP/1.1 framing.
            var slot = Slot(id: nextID, head: .placeholder, dispatched: true)
            nextID += 1
            slot.response = problem
            slot.closesConnection = true
            slots.append(slot)
        }
        drain(into: &actions, now: now)
    }

    private func head(
        _ response: HTTPResponse, framing: ResponseSerializer.Framing, version: HTTPVersion, close: Bool
    ) -> [UInt8] {
        var headers = response.headers
        for field in configuration.defaultHeaders where !headers.contains(field.name) {
            headers.add(field.name, field.value)
        }
        return ResponseSerializer.head(
            status: response.status, headers: headers, framing: framing,
            version: version, close: close, date: configuration.date())
    }

    // MARK: - Lifecycle transitions

    /// Stops reading requests for `reason`; an earlier, greater reason stands.
    private mutating func endReading(_ reason: ReadingDoneReason) {
        switch lifecycle {
        case .reading:
            lifecycle = .readingDone(reason)
        case .readingDone(let current):
            lifecycle = .readingDone(max(current, reason))
        case .closed:
            preconditionFailure("HTTPConnectionStateMachine: reading ended (\(reason)) after the connection closed")
        }
    }

    /// A response has been handed to the writer in full.
    private mutating func responseWritten() {
        switch lifecycle {
        case .reading:
            lifecycle = .reading(servedAny: true)
        case .readingDone:
            break
        case .closed:
            preconditionFailure("HTTPConnectionStateMachine: a response finished after the connection closed")
        }
    }

    /// Ends the connection: terminates any stream and the streams never sent, then asks the
    /// shell to close. `whileIdle`: no request is in progress (see `closedWhileIdle`).
    private mutating func close(into actions: inout [Action], whileIdle: Bool = false) {
        if case .closed = lifecycle {
            preconditionFailure("HTTPConnectionStateMachine: closed twice")
        }
        lifecycle = .closed(whileIdle: whileIdle)
        failStreamedBody(.clientDisconnected)
        if let stream = streaming {
            actions.append(.terminateStream(stream.writer, .clientDisconnected))
            streaming = nil
            slots.removeFirst()
        }
        for slot in slots {
            if case .stream(let writer)? = slot.response?.body { actions.append(.terminateStream(writer, .notSent)) }
        }
        slots = []
        actions.append(.close)
    }
}

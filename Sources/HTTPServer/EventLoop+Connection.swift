import Dispatch

/// Per-connection work of the loop: reading, carrying out the state machine's actions,
/// handing requests to the handler queue, streaming, writing and closing.
extension EventLoop {
    func handle(_ flags: UInt32, on connection: Connection) {
        let now = MonotonicClock.now()
        if flags & Epoll.writable != 0 { flush(connection, now: now) }
        if !connection.isDestroyed, flags & (Epoll.readable | Epoll.failed) != 0 { read(connection, now: now) }
        if !connection.isDestroyed, flags & Epoll.failed != 0 {
            destroy(connection, reason: .clientDisconnected)
        }
        if !connection.isDestroyed { updateInterest(connection) }
    }

    func read(_ connection: Connection, now: UInt64) {
        let result: IOResult<Int>
        do {
            result = try Socket.read(connection.fd, into: readBuffer)
        } catch {
            destroy(connection, reason: .clientDisconnected)  // reset by peer and the like
            return
        }
        guard case .processed(let count) = result else { return }
        if count == 0 {
            connection.inputClosed = true
            if connection.isLingering || connection.isRejected {
                destroy(connection, reason: .clientDisconnected)
            } else {
                apply(connection.machine.peerClosed(now: now), to: connection, now: now)
            }
            return
        }
        if connection.isLingering || connection.isRejected { return }
        let bytes = UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])
        apply(connection.machine.bytesReceived(bytes, now: now), to: connection, now: now)
    }

    func apply(_ actions: [HTTPConnectionStateMachine.Action], to connection: Connection, now: UInt64) {
        // A complete response is already in memory, so one larger than the outbound limit is
        // still sent (dropping it would make it unservable); the limit stops growth beyond it.
        var largestWrite = 0
        for action in actions where !connection.isDestroyed {
            switch action {
            case .write(let bytes):
                largestWrite = max(largestWrite, bytes.count)
                connection.enqueue(bytes)
            case .dispatch(let id, var request):
                request.remoteAddress = connection.remoteAddress
                if let body = request.bodyStream { resumeReading(connection.id, whenDrained: body) }
                dispatch(request, id: id, connectionID: connection.id)
            case .attachStream(let id, let writer):
                attach(writer, id: id, to: connection, now: now)
            case .terminateStream(let writer, let reason):
                writer.terminate(reason)
            case .close:
                connection.closeRequested = true
            case .screen(let id, let head):
                screen(
                    HTTPRequest(head: head, remoteAddress: connection.remoteAddress), id: id,
                    connectionID: connection.id)
            }
        }
        guard !connection.isDestroyed else { return }
        if connection.pendingOutboundBytes > settings.maxOutboundBytes + largestWrite {
            settings.log("\(connection.remoteAddress): client reads too slowly; closing")
            destroy(connection, reason: .clientDisconnected)
            return
        }
        flush(connection, now: now)
        if !connection.isDestroyed { updateInterest(connection) }
    }

    func dispatch(_ request: HTTPRequest, id: Int, connectionID: UInt64) {
        if settings.answersInline(request.head) {
            // Run after the current actions (not inside them), still on this thread.
            execute { [self] in
                let response = self.handler(request)
                guard let connection = connections[connectionID] else { return }
                let now = MonotonicClock.now()
                apply(connection.machine.responseReady(id, response, now: now), to: connection, now: now)
            }
            return
        }
        let handler = handler
        let queue = settings.longLived(request.head) ? longLivedQueue : handlerQueue
        queue.async { [self] in
            let response = handler(request)
            let delivered = execute { [self] in
                guard let connection = connections[connectionID] else {
                    if case .stream(let writer) = response.body { writer.terminate(.clientDisconnected) }
                    return
                }
                let now = MonotonicClock.now()
                apply(connection.machine.responseReady(id, response, now: now), to: connection, now: now)
            }
            if !delivered, case .stream(let writer) = response.body { writer.terminate(.serverStopping) }
        }
    }

    /// Turns reading back on for `connectionID` each time its handler drains the full pipe of
    /// its streamed body.
    func resumeReading(_ connectionID: UInt64, whenDrained body: RequestBodyStream) {
        body.onResume { [self] in
            execute { [self] in
                guard let connection = connections[connectionID], !connection.isDestroyed else { return }
                connection.machine.bodyResumed(now: MonotonicClock.now())
                updateInterest(connection)
            }
        }
    }

    /// Asks the screen about a head on the screen queue (it may read the store), then hands the
    /// verdict back to the connection on the loop thread. Not on the handler queue: handlers may
    /// hold every thread of it for long (an upload's parse), and a verdict must not wait for them.
    func screen(_ head: HTTPRequest, id: Int, connectionID: UInt64) {
        guard let screen = settings.screen else { preconditionFailure("a head screened without a screen") }
        screenQueue.async { [self] in
            let refusal = screen(head)
            execute { [self] in
                guard let connection = connections[connectionID] else { return }
                let now = MonotonicClock.now()
                apply(connection.machine.headScreened(id, refusal: refusal, now: now), to: connection, now: now)
            }
        }
    }

    func attach(_ writer: ResponseStreamWriter, id: Int, to connection: Connection, now: UInt64) {
        let connectionID = connection.id
        let sink = ResponseStreamWriter.Sink(
            send: { [self] bytes in
                execute { [self] in
                    guard let connection = connections[connectionID] else { return }
                    apply(connection.machine.streamData(id, bytes), to: connection, now: MonotonicClock.now())
                    writer.noteQueued(bytes.count, pending: connection.pendingOutboundBytes)
                }
            },
            finish: { [self] in
                execute { [self] in
                    guard let connection = connections[connectionID] else { return }
                    let now = MonotonicClock.now()
                    apply(connection.machine.streamFinished(id, now: now), to: connection, now: now)
                }
            })
        let (chunks, finished) = writer.attach(sink)
        for chunk in chunks {
            apply(connection.machine.streamData(id, chunk), to: connection, now: now)
            writer.noteQueued(chunk.count, pending: connection.pendingOutboundBytes)
        }
        if finished { apply(connection.machine.streamFinished(id, now: now), to: connection, now: now) }
    }

    // MARK: - Writing and closing

    func flush(_ connection: Connection, now: UInt64) {
        while connection.pendingOutboundBytes > 0 {
            let result: IOResult<Int>
            do {
                result = try connection.outbound.withUnsafeBytes { buffer throws(SystemError) in
                    try Socket.write(
                        connection.fd, UnsafeRawBufferPointer(rebasing: buffer[connection.outboundOffset...]))
                }
            } catch {
                destroy(connection, reason: .clientDisconnected)  // EPIPE, ECONNRESET
                return
            }
            guard case .processed(let written) = result else { break }
            connection.outboundOffset += written
            connection.lastWriteProgress = now
        }
        connection.machine.streamWriter?.notePending(connection.pendingOutboundBytes)
        guard connection.pendingOutboundBytes == 0, connection.closeRequested, !connection.isLingering else { return }
        if connection.inputClosed || connection.machine.closedWhileIdle {
            destroy(connection, reason: .clientDisconnected)
        } else {
            Socket.shutdownWrite(connection.fd)
            connection.lingerDeadline = now &+ settings.lingerTimeout
            updateInterest(connection)
        }
    }

    func updateInterest(_ connection: Connection) {
        let desired = connection.desiredEvents
        guard desired != connection.registeredEvents else { return }
        do {
            try epoll.modify(connection.fd, events: desired, token: connection.id)
            connection.registeredEvents = desired
        } catch {
            settings.log("epoll_ctl(mod): \(error)")
            destroy(connection, reason: .clientDisconnected)
        }
    }

    func destroy(_ connection: Connection, reason: ResponseStreamWriter.CloseReason) {
        guard !connection.isDestroyed else { return }
        connection.isDestroyed = true
        epoll.remove(connection.fd)
        closeDescriptor(connection.fd)
        connections[connection.id] = nil
        if !connection.isRejected {
            servingCount -= 1
            let left = servingPerClient[connection.client, default: 1] - 1
            servingPerClient[connection.client] = left > 0 ? left : nil
        }
        for case .terminateStream(let writer, _) in connection.machine.peerClosed(now: MonotonicClock.now()) {
            writer.terminate(reason)
        }
        signalIfDrained()
    }
}

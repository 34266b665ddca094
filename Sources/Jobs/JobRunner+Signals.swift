import Storage

/// What other nodes tell this one (PostgreSQL `LISTEN`): wake an idle worker, stop a cancelled
/// job now rather than at its next heartbeat, show another node's events to this node's watchers.
extension JobRunner {
    func received(_ notification: StoreNotification) {
        switch notification {
        case .signal(.jobQueued):
            wake.signal()
        case .signal(.cancelRequested(let jobID)):
            stopHere(jobID: jobID)
        case .signal(.jobEvent(let jobID, let payload)):
            guard let event = JobEventHub.Event(wireText: payload) else { return }
            events.deliverRemote(jobID: jobID, event)
        case .resynchronize:
            // Whatever was queued while the listener was away: let every idle worker look now.
            for _ in 0..<configuration.workers { wake.signal() }
        }
    }
}

import JSON
import Storage
import Tuning

/// Each history item records the numeric fingerprint of the node that computed it, so a history
/// that differs from another run's in its last digits can be explained: nodes with equal
/// fingerprints produce identical histories.
extension JobExecution {
    /// The item as stored: its JSON plus `numeric_fingerprint`.
    static func itemJSON(_ item: HistoryItem, fingerprint: String) -> String {
        item.json(numericFingerprint: fingerprint).serializedString()
    }

    /// Reads an item's `numeric_fingerprint` alone: the item may be megabytes (a distillation
    /// job's learned rows), which a resume need not parse.
    static let fingerprintMember = JSONMemberReader(paths: [["numeric_fingerprint"]])

    /// Logs a resume on a node whose fingerprint differs from the one that computed the last
    /// committed item: the rest of the history may then differ from an uninterrupted run's bits.
    func noteFingerprint(resumingAt nextItem: Int) {
        guard nextItem > 0,
            let last = try? runner.store.history(jobID: claimed.job.id, after: nextItem - 2, limit: 1).first,
            let (object, _) = Self.fingerprintMember.read(last.itemJSON)
        else { return }
        let earlier = object["numeric_fingerprint"]?.stringValue ?? "unrecorded"
        let current = runner.configuration.numericFingerprint
        guard earlier != current else { return }
        runner.log(
            "job resumed under another numeric fingerprint",
            [
                "job_id": claimed.job.id, "meta_iteration": "\(nextItem)", "earlier_fingerprint": earlier,
                "fingerprint": current,
            ])
    }
}

extension HistoryItem {
    /// The item as the service stores and serves it: `json()` plus the `numeric_fingerprint` of
    /// the node that computed it.
    public func json(numericFingerprint: String) -> JSONValue {
        guard case .object(var object) = json() else { return json() }
        object["numeric_fingerprint"] = .string(numericFingerprint)
        return .object(object)
    }
}

import JSON

extension JobPlots {
    /// Whether `spec` is a weight-sharing job's (`"kind": "weight_sharing"`).
    static func isWeightSharing(_ spec: JSONValue) -> Bool { spec["kind"]?.stringValue == "weight_sharing" }

    /// A weight-sharing job's plots: its losses and errors, learning curve and hypergradient norm,
    /// and the heat maps of its latest T_l (`sharing`: the same with each task's own entry blank).
    static let sharingNames = ["loss", "error", "learning_curve", "hypergradient_norm", "transforms", "sharing"]

    /// The heat maps of the latest item's T_l (`hyperparameters.transforms`, rows and columns named
    /// by `sharing.tasks`); "no data yet" before the first item.
    static func sharingTransforms(_ history: [JSONValue], offDiagonal: Bool) -> String {
        guard let last = history.last, let layers = last["hyperparameters"]?["transforms"]?.arrayValue,
            let tasks = last["sharing"]?["tasks"]?.arrayValue?.compactMap(\.stringValue)
        else {
            return SVGImageGrid(
                title: title(of: offDiagonal ? "sharing" : "transforms"), images: [], colorScale: .diverging,
                columns: 3
            ).render()
        }
        let transforms = layers.map { layer in
            (layer.arrayValue ?? []).flatMap { row in (row.arrayValue ?? []).map { HistoryValues.number($0) } }
        }
        let n = tasks.count
        guard transforms.allSatisfy({ $0.count == n * n }) else {
            return SVGImageGrid(
                title: title(of: "transforms"), images: [], colorScale: .diverging, columns: 3,
                emptyMessage: "the latest item's transforms are not tasks × tasks matrices"
            ).render()
        }
        return sharingTransforms(
            tasks: tasks, transforms: transforms, offDiagonal: offDiagonal,
            iteration: Int(metaIteration(last)))
    }

    /// The learned transforms T_l of a weight-sharing run as heat maps, one per layer, on one
    /// diverging colour scale: row a is task a's layer, column j the weight of the shared z_l(j) in
    /// it. With `offDiagonal`, each task's own entry is left blank so that the sharing between
    /// tasks, much smaller than the diagonal, fills the scale.
    public static func sharingTransforms(
        tasks: [String], transforms: [[Double]], offDiagonal: Bool = false, iteration: Int? = nil
    ) -> String {
        let n = tasks.count
        let images = transforms.enumerated().map { l, t in
            SVGImageGrid.Image(
                title: "T\(l + 1) (layer \(l + 1))", width: n, height: n,
                values: t.enumerated().map { i, value in offDiagonal && i / n == i % n ? .nan : value })
        }
        // Tasks that are the first half again, rotated, are named once: "1–5: A, …; 6–10: the same rotated".
        let half = n / 2
        let pairs = n % 2 == 0 && n > 0 && (0..<half).allSatisfy { tasks[half + $0] == tasks[$0] + " rotated" }
        let numbered =
            pairs
            ? "1–\(half): \(tasks[..<half].joined(separator: ", ")); \(half + 1)–\(n): the same rotated by 90°"
            : tasks.enumerated().map { "\($0 + 1) \($1)" }.joined(separator: ", ")
        return SVGImageGrid(
            title: offDiagonal ? "Learned sharing between tasks (diagonal blank)" : "Learned transforms T_l",
            subtitle: (iteration.map { "item \($0); " } ?? "") + "rows and columns: " + numbered, images: images,
            colorScale: .diverging, columns: 3
        ).render()
    }
}

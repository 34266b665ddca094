extension JobPlots {
    /// The learned transforms T_l of a weight-sharing run as heat maps, one per layer, on one
    /// diverging colour scale: row a is task a's layer, column j the weight of the shared z_l(j) in
    /// it. With `offDiagonal`, each task's own entry is left blank so that the sharing between
    /// tasks, much smaller than the diagonal, fills the scale.
    public static func sharingTransforms(tasks: [String], transforms: [[Double]], offDiagonal: Bool = false) -> String {
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
            subtitle: "rows and columns: " + numbered, images: images, colorScale: .diverging, columns: 3
        ).render()
    }
}

import Learning

extension Dataset {
    /// Consecutive rows as the trainer takes them (a split's training or validation part).
    public func labelledRows(_ range: Range<Int>) -> LabelledRows {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        return LabelledRows(
            inputs: Array(inputs[(range.lowerBound * features)..<(range.upperBound * features)]),
            labels: Array(labels[range]), features: features)
    }
}

public enum RewindTestSupport {}

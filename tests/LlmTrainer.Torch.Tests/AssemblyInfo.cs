// Handle-counting tests read a process-wide counter, so tests in this assembly run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

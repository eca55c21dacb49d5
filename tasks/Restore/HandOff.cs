namespace BackupBuild.Tasks.Restore;

/// <summary>
/// A queue between Restore's threads (the read-ahead thread, the task's thread, the writers) whose waits block at once
/// (Monitor.Wait) instead of spinning first. BlockingCollection's waits (SemaphoreSlim) spin and call sched_yield
/// before they block: thousands of times a second here, and on a machine with other work each sched_yield gave the
/// core away for a time slice — a whole-tree restore's threads waited 5 to 7 s each behind sched_yield (perf sched
/// timehist) while its CPU time was 9.6 s. Wake-ups are sent only when a waiter can go on (the queue was empty, or
/// full).
/// </summary>
internal sealed class HandOff<T>
{
    private readonly Queue<T> _items = new();
    private readonly int _capacity;
    private bool _completed;

    public HandOff(int capacity = int.MaxValue) => _capacity = capacity;

    /// <summary>Adds, waiting while the queue is full. False (nothing added) once <see cref="Complete"/> was called.</summary>
    public bool Add(T item)
    {
        lock (_items)
        {
            while (_items.Count >= _capacity && !_completed) Monitor.Wait(_items);
            if (_completed) return false;
            _items.Enqueue(item);
            if (_items.Count == 1) Monitor.PulseAll(_items);
            return true;
        }
    }

    /// <summary>Takes the oldest item, waiting while the queue is empty. False when it is empty and complete.</summary>
    public bool Take(out T item)
    {
        lock (_items)
        {
            while (_items.Count == 0)
            {
                if (_completed)
                {
                    item = default!;
                    return false;
                }
                Monitor.Wait(_items);
            }
            item = _items.Dequeue();
            if (_items.Count == _capacity - 1) Monitor.PulseAll(_items);
            return true;
        }
    }

    /// <summary>No more adds: takers get what is left, then false; adders waiting for room get false.</summary>
    public void Complete()
    {
        lock (_items)
        {
            _completed = true;
            Monitor.PulseAll(_items);
        }
    }
}

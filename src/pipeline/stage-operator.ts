import { Observable, type OperatorFunction } from 'rxjs';

/** A pipeline stage's per-subscription state: turns each input into its (borrowed) output, or throws. */
export interface StageState<I, O> {
  process(input: I): O;
}

/**
 * The operator around a stage: a fresh state per subscription (two subscribers never share
 * buffers or filter state), errors thrown while processing an input go downstream as the
 * Observable's error (RxJS would otherwise report an exception thrown inside `next` as unhandled,
 * out of band), and nothing is processed after an error.
 */
export function stageOperator<I, O>(createState: () => StageState<I, O>): OperatorFunction<I, O> {
  return (source) =>
    new Observable<O>((subscriber) => {
      const state = createState();
      let failed = false;
      return source.subscribe({
        next(input) {
          if (failed) return;
          let output: O;
          try {
            output = state.process(input);
          } catch (error) {
            failed = true;
            subscriber.error(error);
            return;
          }
          subscriber.next(output);
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

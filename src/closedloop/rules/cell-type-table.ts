/**
 * Unit → cell type, as the classifier last said, for the rules to look up per spike without
 * allocating: labels are interned to small integers, and each unit's label index and confidence
 * live in typed arrays indexed by unit id. The daemon updates it when a classification arrives
 * (a few times a second, not per spike); rules read it synchronously.
 */
export interface CellTypeLookup {
  /** The interned index of a label (interning it if new). Not for the hot path. */
  labelIndex(label: string): number;
  /** The unit's current label index, −1 when unlabelled (unknown unit, or the model abstained). */
  labelIndexOf(unitId: number): number;
  /** The unit's current confidence ratio (top / second probability), 0 when unlabelled. */
  confidenceOf(unitId: number): number;
}

export class CellTypeTable implements CellTypeLookup {
  private readonly labels: string[] = [];
  private readonly indexByLabel = new Map<string, number>();
  private labelOfUnit: Int32Array;
  private confidenceOfUnit: Float32Array;

  constructor(initialUnitCapacity = 1024) {
    this.labelOfUnit = new Int32Array(initialUnitCapacity).fill(-1);
    this.confidenceOfUnit = new Float32Array(initialUnitCapacity);
  }

  labelIndex(label: string): number {
    let i = this.indexByLabel.get(label);
    if (i === undefined) {
      i = this.labels.length;
      this.labels.push(label);
      this.indexByLabel.set(label, i);
    }
    return i;
  }

  labelName(index: number): string | null {
    return index >= 0 && index < this.labels.length ? this.labels[index] : null;
  }

  /** Sets (or clears, with label null) a unit's cell type. Grows the tables when a new unit id is beyond them. */
  set(unitId: number, label: string | null, confidence: number): void {
    if (!Number.isInteger(unitId) || unitId < 0) throw new RangeError(`CellTypeTable.set: expected a unit id ≥ 0, got ${unitId}`);
    if (unitId >= this.labelOfUnit.length) {
      const size = Math.max(unitId + 1, this.labelOfUnit.length * 2);
      const labels = new Int32Array(size).fill(-1);
      labels.set(this.labelOfUnit);
      const confidences = new Float32Array(size);
      confidences.set(this.confidenceOfUnit);
      this.labelOfUnit = labels;
      this.confidenceOfUnit = confidences;
    }
    this.labelOfUnit[unitId] = label === null ? -1 : this.labelIndex(label);
    this.confidenceOfUnit[unitId] = label === null ? 0 : confidence;
  }

  labelIndexOf(unitId: number): number {
    return unitId >= 0 && unitId < this.labelOfUnit.length ? this.labelOfUnit[unitId] : -1;
  }

  confidenceOf(unitId: number): number {
    return unitId >= 0 && unitId < this.confidenceOfUnit.length ? this.confidenceOfUnit[unitId] : 0;
  }
}

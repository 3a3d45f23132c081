'use client';

import { getFieldsetProps, useField, type FieldMetadata, type FormMetadata } from '@conform-to/react';
import type { ReactNode } from 'react';
import {
  AVAILABILITY_STATISTICS,
  CHANNELS,
  FAMILIES,
  INVOCATION_PROTOCOLS,
  INVOCATION_TYPES,
  LEVELS,
  LOCATION_KINDS,
  MODELS,
  MULTICAST_MODES,
  OUT_OF_PROFILE,
  POLICINGS,
  QOS_KINDS,
  QOS_STATISTICS,
  REACHES,
  TRI_STATE,
} from '@/lib/portal/cpd-form/choices';
import type { CppFormInput, OrderFormInput } from '@/lib/portal/cpd-form/schema';
import {
  buttonClass,
  CheckboxInput,
  ChoiceGroup,
  FieldErrors,
  ListInput,
  NodeComboBox,
  NumberInput,
  NumValueInput,
  RadioGroupInput,
  Section,
  SelectInput,
  TextInput,
} from './fields';
import { sectionId } from './sections';

type Form = FormMetadata<OrderFormInput>;

const on = (meta: FieldMetadata<boolean | undefined>): boolean => meta.value === 'on' || meta.value === 'true';

/**
 * An optional clause: a switch, then its fields. When off, the fields stay in the page but are
 * hidden and disabled: nothing typed is lost, and nothing of the clause is posted.
 */
function Optional({ meta, label, children }: { meta: FieldMetadata<boolean | undefined>; label: string; children: ReactNode }) {
  const included = on(meta);
  return (
    <>
      <CheckboxInput meta={meta} label={label} />
      <fieldset disabled={!included} hidden={!included} className="space-y-4">
        <legend className="sr-only">{label}</legend>
        {children}
      </fieldset>
    </>
  );
}

const grid2 = 'grid gap-4 sm:grid-cols-2';
const grid3 = 'grid gap-4 sm:grid-cols-3';
const itemCard = 'rounded-md border border-slate-200 bg-slate-50/60 p-4';

export function ProfileFields({ form, meta, index, count }: { form: Form; meta: FieldMetadata<CppFormInput>; index: number; count: number }) {
  const cpp = meta.getFieldset();
  const nodes = cpp.nodes.getFieldList();
  const nodeIds = nodes.map((n) => {
    const v = n.getFieldset().id.value;
    return typeof v === 'string' ? v : '';
  });
  const id = (section: string) => sectionId(index, section);

  const scope = cpp.scope.getFieldset();
  const qos = cpp.qos.getFieldset();
  const availability = cpp.availability.getFieldset();
  const capacity = cpp.capacity.getFieldset();
  const conformance = cpp.conformance.getFieldset();
  const overall = cpp.overall.getFieldset();
  const isolation = cpp.isolation.getFieldset();
  const routing = cpp.routing.getFieldset();
  const invocation = cpp.invocation.getFieldset();
  const perLinks = capacity.perLink.getFieldList();
  const flows = cpp.flows.getFieldList();
  const notifications = cpp.notifications.getFieldList();
  const qosKind = qos.kind.value ?? 'none';
  const multicast = scope.multicastMode.value ?? 'none';

  return (
    <section aria-labelledby={`${id('heading')}`} className="space-y-5" {...getFieldsetProps(meta)} id={meta.id}>
      <div className="flex flex-wrap items-end justify-between gap-3 border-b border-slate-200 pb-3">
        <div>
          <h2 id={id('heading')} className="text-xl font-semibold tracking-tight">
            Connectivity profile {index + 1}
          </h2>
          <p className="text-sm text-slate-600">One Connectivity Provisioning Profile (RFC 7297) of the order&apos;s CPD.</p>
        </div>
        <div className="flex items-end gap-3">
          <TextInput meta={cpp.component} label="Component label (optional)" placeholder="e.g. backbone" className="w-56" />
          {count > 1 ? (
            <button {...form.remove.getButtonProps({ name: 'cpd', index })} className={buttonClass.danger}>
              Remove profile {index + 1}
            </button>
          ) : null}
        </div>
      </div>
      <FieldErrors id={meta.errorId} errors={meta.errors} />

      <Section id={id('sites')} title="Sites" description="The customer nodes this connectivity joins (RFC 7297 3.1)." errors={cpp.nodes.errors} errorId={cpp.nodes.errorId}>
        <ol className="space-y-3">
          {nodes.map((node, i) => {
            const n = node.getFieldset();
            const kind = n.locationKind.value ?? 'none';
            return (
              <li key={node.key} className={itemCard}>
                <fieldset {...getFieldsetProps(node)} className="space-y-3">
                  <legend className="sr-only">Site {i + 1}</legend>
                  <div className="flex items-center justify-between">
                    <p className="text-sm font-semibold text-slate-700" aria-hidden="true">
                      Site {i + 1}
                    </p>
                    {nodes.length > 1 ? (
                      <button {...form.remove.getButtonProps({ name: cpp.nodes.name, index: i })} className={buttonClass.danger}>
                        Remove site {i + 1}
                      </button>
                    ) : null}
                  </div>
                  <div className={grid3}>
                    <TextInput meta={n.id} label="Node id" placeholder="ce-paris" hint="Unique in this profile." />
                    <TextInput meta={n.link} label="Border link" placeholder="pe1:xe-1/0/0" hint="PE interface or provider node." />
                    <TextInput meta={n.site} label="Site name (optional)" placeholder="Paris HQ" />
                  </div>
                  <div className={grid3}>
                    <SelectInput meta={n.locationKind} label="Location" options={LOCATION_KINDS} />
                    <div hidden={kind !== 'text'} className="sm:col-span-2">
                      <fieldset disabled={kind !== 'text'}>
                        <TextInput meta={n.location} label="Place name" placeholder="Rennes" />
                      </fieldset>
                    </div>
                    <fieldset disabled={kind !== 'geo'} hidden={kind !== 'geo'} className="grid gap-4 sm:col-span-2 sm:grid-cols-2">
                      <NumberInput meta={n.lat} label="Latitude" minValue={-90} maxValue={90} />
                      <NumberInput meta={n.lon} label="Longitude" minValue={-180} maxValue={180} />
                    </fieldset>
                  </div>
                </fieldset>
              </li>
            );
          })}
        </ol>
        <button {...form.insert.getButtonProps({ name: cpp.nodes.name, defaultValue: { id: '', link: '', locationKind: 'none' } })} className={buttonClass.secondary}>
          + Add a site
        </button>
      </Section>

      <Section id={id('scope')} title="Scope" description="Where traffic may go, in both directions (RFC 7297 3.2).">
        <Optional meta={scope.include} label="State the scope">
          <div className={grid2}>
            <ChoiceGroup meta={scope.reach} label="Reach" options={REACHES} />
            <ChoiceGroup meta={scope.model} label="Connectivity model" options={MODELS} />
          </div>
          <ChoiceGroup meta={scope.families} label="Address families (optional)" options={FAMILIES} hint="Leave both unticked when it does not matter." />
          <div className={grid2}>
            <ListInput meta={scope.outbound} label="Outbound destinations" hint="Node ids of this profile or prefixes, one per line." placeholder={'ce-b\n198.51.100.0/24'} />
            <ListInput meta={scope.inbound} label="Inbound sources" hint="Node ids of this profile or prefixes, one per line." placeholder="ce-b" />
            <ListInput meta={scope.ingress} label="Ingress points (optional)" />
            <ListInput meta={scope.egress} label="Egress points (optional)" />
          </div>
          <div className={grid3}>
            <SelectInput meta={scope.multicastMode} label="Multicast" options={MULTICAST_MODES} />
            <fieldset disabled={multicast === 'none'} hidden={multicast === 'none'} className="contents">
              <ListInput meta={scope.groups} label="Multicast groups" hint="Prefixes, one per line." placeholder="232.1.0.0/16" />
            </fieldset>
            <fieldset disabled={multicast !== 'ssm'} hidden={multicast !== 'ssm'} className="contents">
              <ListInput meta={scope.sources} label="Multicast sources" hint="Prefixes; SSM only." placeholder="192.0.2.0/24" />
            </fieldset>
          </div>
        </Optional>
      </Section>

      <Section id={id('qos')} title="QoS guarantees" description="Either figures or a class, never both (RFC 7297 3.3).">
        <RadioGroupInput meta={qos.kind} label="Kind of guarantee" options={QOS_KINDS} />
        <fieldset disabled={qosKind !== 'quantitative'} hidden={qosKind !== 'quantitative'} className="space-y-4">
          <legend className="sr-only">Quantitative guarantees</legend>
          <div className="grid gap-4 lg:grid-cols-3">
            <NumValueInput meta={qos.delayMs} label="One-way delay" unit="ms" minValue={0} />
            <NumValueInput meta={qos.jitterMs} label="Jitter" unit="ms" minValue={0} />
            <NumValueInput meta={qos.lossPct} label="Packet loss" unit="%" minValue={0} maxValue={100} />
          </div>
          <div className={grid2}>
            <SelectInput meta={qos.statistic} label="Statistic (optional)" options={QOS_STATISTICS} placeholder="Not stated" />
            <NumberInput meta={qos.intervalSec} label="Measurement interval (optional)" unit="s" minValue={0} step={1} />
          </div>
          <div className={grid2}>
            <BetweenField listName={qos.between.name} index={0} label="Measured from (optional)" nodeIds={nodeIds} />
            <BetweenField listName={qos.between.name} index={1} label="Measured to (optional)" nodeIds={nodeIds} />
          </div>
        </fieldset>
        <fieldset disabled={qosKind !== 'qualitative'} hidden={qosKind !== 'qualitative'}>
          <legend className="sr-only">Qualitative guarantee</legend>
          <ChoiceGroup meta={qos.class} label="QoS class" options={LEVELS} />
        </fieldset>
        <FieldErrors id={qos.between.errorId} errors={qos.between.errors} />
      </Section>

      <Section id={id('availability')} title="Availability" description="The share of time the service is up (RFC 7297 3.4).">
        <Optional meta={availability.include} label="State an availability">
          <NumValueInput meta={availability.percent} label="Availability" unit="%" minValue={0} maxValue={100} />
          <SelectInput meta={availability.statistic} label="Statistic (optional)" options={AVAILABILITY_STATISTICS} placeholder="Not stated" className="sm:w-1/2" />
        </Optional>
      </Section>

      <Section
        id={id('capacity')}
        title="Capacity & conformance"
        description="Bandwidth, and what happens to traffic beyond it (RFC 7297 3.5, 3.6)."
        errors={cpp.conformance.errors}
        errorId={cpp.conformance.errorId}
      >
        <Optional meta={capacity.include} label="State a capacity">
          <div className="grid gap-4 lg:grid-cols-2">
            <NumValueInput meta={capacity.inMbps} label="Inbound" unit="Mbit/s" minValue={0} />
            <NumValueInput meta={capacity.outMbps} label="Outbound" unit="Mbit/s" minValue={0} />
          </div>
          {perLinks.length > 0 ? (
            <ol className="space-y-3">
              {perLinks.map((link, i) => {
                const l = link.getFieldset();
                return (
                  <li key={link.key} className={itemCard}>
                    <fieldset {...getFieldsetProps(link)} className="space-y-3">
                      <legend className="text-sm font-semibold text-slate-700">Per-link capacity {i + 1}</legend>
                      <div className="flex items-end justify-between gap-3">
                        <TextInput meta={l.link} label="Link" placeholder="pe1:xe-1/0/0" className="flex-1" />
                        <button {...form.remove.getButtonProps({ name: capacity.perLink.name, index: i })} className={buttonClass.danger}>
                          Remove link {i + 1}
                        </button>
                      </div>
                      <div className="grid gap-4 lg:grid-cols-2">
                        <NumValueInput meta={l.inMbps} label="Inbound" unit="Mbit/s" minValue={0} />
                        <NumValueInput meta={l.outMbps} label="Outbound" unit="Mbit/s" minValue={0} />
                      </div>
                    </fieldset>
                  </li>
                );
              })}
            </ol>
          ) : null}
          <button {...form.insert.getButtonProps({ name: capacity.perLink.name, defaultValue: { link: '', inMbps: { mode: 'fixed' }, outMbps: { mode: 'fixed' } } })} className={buttonClass.secondary}>
            + Add a per-link capacity
          </button>
        </Optional>
        <Optional meta={conformance.include} label="State conformance rules (required with a capacity)">
          <div className={grid2}>
            <ChoiceGroup meta={conformance.policing} label="Excess traffic is" options={POLICINGS} />
            <ChoiceGroup meta={conformance.outOfProfile} label="Out-of-profile traffic" options={OUT_OF_PROFILE} />
          </div>
          <NumberInput meta={conformance.mtu} label="MTU (optional)" unit="bytes" minValue={68} maxValue={65535} step={1} className="sm:w-1/3" />
        </Optional>
      </Section>

      <Section
        id={id('overall')}
        title="Overall guarantees"
        description="Delay, loss and throughput levels for traffic not dropped when out of profile (RFC 7297 3.7)."
        errors={cpp.overall.errors}
        errorId={cpp.overall.errorId}
      >
        <Optional meta={overall.include} label="State overall guarantees">
          <div className={grid3}>
            <ChoiceGroup meta={overall.delay} label="Delay" options={LEVELS} hint="One or several." />
            <ChoiceGroup meta={overall.loss} label="Loss" options={LEVELS} hint="One or several." />
            <ChoiceGroup meta={overall.throughput} label="Throughput" options={LEVELS} hint="One or several." />
          </div>
        </Optional>
      </Section>

      <Section id={id('isolation')} title="Isolation" description="Separation from other customers' traffic (RFC 7297 3.8).">
        <Optional meta={isolation.include} label="State isolation needs">
          <CheckboxInput meta={isolation.required} label="Traffic isolation is required" />
          <ListInput meta={isolation.security} label="Security measures (optional)" placeholder="ipsec" />
        </Optional>
      </Section>

      <Section id={id('flows')} title="Flows" description="Which traffic the guarantees apply to (RFC 7297 3.9). None listed: all traffic.">
        {flows.length > 0 ? (
          <ol className="space-y-3">
            {flows.map((flow, i) => {
              const f = flow.getFieldset();
              const all = on(f.allLinks);
              return (
                <li key={flow.key} className={itemCard}>
                  <fieldset {...getFieldsetProps(flow)} className="space-y-3">
                    <legend className="sr-only">Flow {i + 1}</legend>
                    <div className="flex items-center justify-between">
                      <p className="text-sm font-semibold text-slate-700" aria-hidden="true">
                        Flow {i + 1}
                      </p>
                      <button {...form.remove.getButtonProps({ name: cpp.flows.name, index: i })} className={buttonClass.danger}>
                        Remove flow {i + 1}
                      </button>
                    </div>
                    <div className={grid2}>
                      <TextInput meta={f.src} label="Source prefix" placeholder="192.0.2.0/24" />
                      <TextInput meta={f.dst} label="Destination prefix" placeholder="2001:db8::/32" />
                      <TextInput meta={f.srcPort} label="Source port" placeholder="443 or 1024-2047" />
                      <TextInput meta={f.dstPort} label="Destination port" placeholder="443 or 1024-2047" />
                    </div>
                    <div className={grid3}>
                      <NumberInput meta={f.dscp} label="DSCP" minValue={0} maxValue={63} step={1} />
                      <NumberInput meta={f.remark} label="Remark to DSCP" minValue={0} maxValue={63} step={1} />
                      <TextInput meta={f.tunnelEnd} label="Tunnel end" />
                    </div>
                    <CheckboxInput meta={f.allLinks} label="On all links" />
                    <fieldset disabled={all} hidden={all}>
                      <ListInput meta={f.links} label="On these links (optional)" />
                    </fieldset>
                  </fieldset>
                </li>
              );
            })}
          </ol>
        ) : null}
        <button {...form.insert.getButtonProps({ name: cpp.flows.name, defaultValue: {} })} className={buttonClass.secondary}>
          + Add a flow
        </button>
      </Section>

      <Section id={id('routing')} title="Routing" description="Constraints on the path (RFC 7297 3.10).">
        <Optional meta={routing.include} label="State routing constraints">
          <div className={grid3}>
            <ListInput meta={routing.avoid} label="Avoid" placeholder="AS64500" />
            <ListInput meta={routing.via} label="Via" />
            <ListInput meta={routing.regions} label="Regions" placeholder="EU" />
          </div>
          <div className={grid2}>
            <SelectInput meta={routing.backupPath} label="Backup path" options={TRI_STATE} />
            <TextInput meta={routing.pdb} label="Per-domain behaviour (optional)" />
          </div>
        </Optional>
      </Section>

      <Section id={id('means')} title="Activation & invocation" description="How the service is set up and triggered (RFC 7297 3.11, 3.12).">
        <ListInput meta={cpp.activation} label="Activation means (optional)" placeholder={'bgp\nigp'} className="sm:w-1/2" />
        <div className={grid2}>
          <RadioGroupInput meta={invocation.type} label="Invocation" options={INVOCATION_TYPES} />
          <fieldset disabled={invocation.type.value !== 'explicit'} hidden={invocation.type.value !== 'explicit'}>
            <SelectInput meta={invocation.protocol} label="Signalling protocol" options={INVOCATION_PROTOCOLS} placeholder="Choose…" />
          </fieldset>
        </div>
      </Section>

      <Section id={id('notifications')} title="Notifications" description="How the provider reports on the service (RFC 7297 3.13).">
        {notifications.length > 0 ? (
          <ol className="space-y-3">
            {notifications.map((item, i) => {
              const n = item.getFieldset();
              return (
                <li key={item.key} className={itemCard}>
                  <fieldset {...getFieldsetProps(item)}>
                    <legend className="sr-only">Notification {i + 1}</legend>
                    <div className="grid items-start gap-4 sm:grid-cols-[1fr_2fr_1fr_auto]">
                      <SelectInput meta={n.channel} label="Channel" options={CHANNELS} placeholder="Choose…" />
                      <ListInput meta={n.events} label="Events (optional)" rows={1} />
                      <NumberInput meta={n.intervalSec} label="Interval" unit="s" minValue={0} step={1} />
                      <button {...form.remove.getButtonProps({ name: cpp.notifications.name, index: i })} className={`${buttonClass.danger} sm:mt-6`}>
                        Remove <span className="sr-only">notification {i + 1}</span>
                      </button>
                    </div>
                  </fieldset>
                </li>
              );
            })}
          </ol>
        ) : null}
        <button {...form.insert.getButtonProps({ name: cpp.notifications.name, defaultValue: { channel: 'cpnp' } })} className={buttonClass.secondary}>
          + Add a notification
        </button>
      </Section>
    </section>
  );
}

/** qos.between[i]: the list may be empty (no endpoints yet), so the item is looked up by name. */
function BetweenField({ listName, index, label, nodeIds }: { listName: string; index: number; label: string; nodeIds: string[] }) {
  const [meta] = useField<string | undefined>(`${listName}[${index}]`);
  return <NodeComboBox meta={meta} label={label} nodeIds={nodeIds} hint="A node id of this profile." />;
}


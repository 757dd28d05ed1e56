package policies

import (
	"fmt"
	"math"
)

func validateServices(p *problems, s *Spec) {
	if len(s.Services) == 0 {
		p.addf("spec.services", "at least one service is required")
	}
	seen := map[string]int{}
	for i := range s.Services {
		path := fmt.Sprintf("spec.services[%d]", i)
		svc := &s.Services[i]
		if svc.Name == "" {
			p.addf(path+".name", "is required: the service's key in the DGD's spec.services")
		} else if j, dup := seen[svc.Name]; dup {
			p.addf(path+".name", "%q is already used by spec.services[%d] (a service has exactly one entry and one actuation)", svc.Name, j)
		} else {
			seen[svc.Name] = i
		}
		checkEnum(p, path+".role", svc.Role, Roles())
		checkEnum(p, path+".actuation", svc.Actuation, Actuations())
		checkBounds(p, path, *svc.MinReplicas, svc.MaxReplicas, svc.Actuation)
		if svc.GPUsPerReplica < 0 {
			p.addf(path+".gpusPerReplica", "%d is negative (0 reads it from the DGD)", svc.GPUsPerReplica)
		}
		checkPositive(p, path+".startupTime", svc.StartupTime)
		validateFrontendRate(p, path, svc)
	}
	validateRoles(p, s)
}

// checkBounds checks one min/max pair; path is the service (or override) the pair belongs to.
func checkBounds(p *problems, path string, lo, hi int32, act Actuation) {
	switch {
	case lo < 0:
		p.addf(path+".minReplicas", "%d is negative", lo)
	case lo == 0 && act != ActuationKEDA:
		p.addf(path+".minReplicas", "0 needs actuation keda (KEDA owns scaling to and from zero); actuation is %q", act)
	}
	switch {
	case hi < 1:
		p.addf(path+".maxReplicas", "%d must be at least 1", hi)
	case hi < lo:
		p.addf(path+".maxReplicas", "%d is below minReplicas %d", hi, lo)
	}
}

func validateFrontendRate(p *problems, path string, svc *ServiceSpec) {
	r := svc.RequestsPerSecondPerReplica
	path += ".requestsPerSecondPerReplica"
	if !checkFinite(p, path, r) {
		return
	}
	switch {
	case svc.Role == RoleFrontend && r <= 0:
		p.addf(path, "%g must be greater than 0 for role frontend (the request rate one replica carries)", r)
	case svc.Role != RoleFrontend && r != 0:
		p.addf(path, "applies only to role frontend, not %q", svc.Role)
	}
}

// validateRoles checks that the services' roles fit the topology.
func validateRoles(p *problems, s *Spec) {
	count := map[Role]int{}
	for _, svc := range s.Services {
		count[svc.Role]++
	}
	switch s.Target.Topology {
	case TopologyDisaggregated:
		if count[RolePrefill] != 1 || count[RoleDecode] != 1 || count[RoleAggregated] != 0 {
			p.addf("spec.services", "topology disaggregated needs exactly one prefill and one decode service and no aggregated one; found %d prefill, %d decode, %d aggregated",
				count[RolePrefill], count[RoleDecode], count[RoleAggregated])
		}
	case TopologyAggregated, TopologyHybrid:
		want := "exactly one"
		ok := count[RoleAggregated] == 1
		if s.Target.Topology == TopologyHybrid {
			want, ok = "at least one", count[RoleAggregated] >= 1
		}
		if !ok || count[RolePrefill]+count[RoleDecode] > 0 {
			p.addf("spec.services", "topology %s needs %s aggregated service and no prefill or decode one; found %d aggregated, %d prefill, %d decode",
				s.Target.Topology, want, count[RoleAggregated], count[RolePrefill], count[RoleDecode])
		}
	}
}

// floorGPUs sums minimum x GPUs per replica over the services whose GPUs are known, using
// floors[name] instead of a service's minReplicas when present. The sum saturates.
func floorGPUs(s *Spec, floors map[string]int32) int64 {
	var sum int64
	for _, svc := range s.Services {
		lo := *svc.MinReplicas
		if f, ok := floors[svc.Name]; ok {
			lo = f
		}
		if svc.GPUsPerReplica > 0 && lo > 0 {
			sum = satAdd(sum, int64(lo)*int64(svc.GPUsPerReplica))
		}
	}
	return sum
}

func validateBudget(p *problems, s *Spec) {
	b := s.Budget.MaxGPUs
	if b < 0 {
		p.addf("spec.budget.maxGPUs", "%d is negative (0 means no cap)", b)
		return
	}
	if b == 0 {
		return
	}
	if need := floorGPUs(s, nil); need > int64(b) {
		p.addf("spec.budget.maxGPUs", "%d is below the %d GPUs the services' minReplicas need (minReplicas x gpusPerReplica, for services that set gpusPerReplica)", b, need)
	}
	for i, sch := range s.Schedules {
		floors := map[string]int32{}
		for name, o := range sch.Services {
			if o.MinReplicas != nil {
				floors[name] = *o.MinReplicas
			}
		}
		if need := floorGPUs(s, floors); need > int64(b) {
			p.addf(fmt.Sprintf("spec.schedules[%d].services", i), "floors need %d GPUs while the schedule is active, above spec.budget.maxGPUs %d", need, b)
		}
	}
}

// satAdd adds two non-negative numbers, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
